package io.edgesplit.onnx.text;

import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The llama2.c tokenizer ({@code tokenizer.bin}, {@code tok512.bin}): sentencepiece-style pieces
 * with scores, merged greedily by best score, with byte fallback ({@code <0x0A>} pieces are raw
 * bytes). BOS is 1, EOS is 2, as in llama2.c. Immutable and thread-safe.
 */
public final class Llama2cTokenizer implements Tokenizer {
    public static final int BOS = 1;
    public static final int EOS = 2;
    private static final int BYTE_OFFSET = 3;

    private final byte[][] pieces;
    private final float[] scores;
    private final Map<String, Integer> ids = new HashMap<>();

    private Llama2cTokenizer(byte[][] pieces, float[] scores) {
        this.pieces = pieces;
        this.scores = scores;
        for (int i = 0; i < pieces.length; i++) {
            ids.putIfAbsent(key(pieces[i]), i);
        }
    }

    /** Parses the file: int32 max length, then per token float32 score, int32 length, bytes. */
    public static Llama2cTokenizer parse(byte[] file, int vocabSize, String what) {
        ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
        byte[][] pieces = new byte[vocabSize][];
        float[] scores = new float[vocabSize];
        try {
            int maxLen = b.getInt();
            for (int i = 0; i < vocabSize; i++) {
                scores[i] = b.getFloat();
                int len = b.getInt();
                if (len < 0 || len > maxLen || len > b.remaining()) {
                    throw new EdgeSplitException(ErrorCode.MODEL_INVALID,
                            what + ": token " + i + " has length " + len + " (max " + maxLen + ")");
                }
                pieces[i] = new byte[len];
                b.get(pieces[i]);
            }
        } catch (BufferUnderflowException e) {
            throw new EdgeSplitException(ErrorCode.MODEL_TRUNCATED,
                    what + " ends before its " + vocabSize + " tokens: is it the tokenizer of this model?");
        }
        return new Llama2cTokenizer(pieces, scores);
    }

    private static String key(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }

    @Override
    public int vocabSize() {
        return pieces.length;
    }

    @Override
    public Set<Integer> stopTokens() {
        return Set.of(BOS, EOS);
    }

    /** llama2.c's encode with BOS: a dummy space prefix, one piece per character or per byte, then best-score merges. */
    @Override
    public int[] encode(String text) {
        List<Integer> tokens = new ArrayList<>();
        tokens.add(BOS);
        if (text.isEmpty()) {
            return new int[] {BOS};
        }
        Integer space = ids.get(" ");
        if (space != null) {
            tokens.add(space);
        }
        byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
        int i = 0;
        while (i < utf8.length) {
            int len = utf8Length(utf8[i]);
            len = Math.min(len, utf8.length - i);
            Integer id = ids.get(new String(utf8, i, len, StandardCharsets.ISO_8859_1));
            if (id != null) {
                tokens.add(id);
            } else {
                for (int k = 0; k < len; k++) {
                    tokens.add((utf8[i + k] & 0xFF) + BYTE_OFFSET);
                }
            }
            i += len;
        }
        while (true) {
            float best = Float.NEGATIVE_INFINITY;
            int bestId = -1;
            int bestAt = -1;
            for (int t = 1; t + 1 < tokens.size(); t++) {
                Integer merged = ids.get(key(pieces[tokens.get(t)]) + key(pieces[tokens.get(t + 1)]));
                if (merged != null && scores[merged] > best) {
                    best = scores[merged];
                    bestId = merged;
                    bestAt = t;
                }
            }
            if (bestAt < 0) {
                break;
            }
            tokens.set(bestAt, bestId);
            tokens.remove(bestAt + 1);
        }
        return tokens.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int utf8Length(byte lead) {
        int b = lead & 0xFF;
        if (b < 0x80) {
            return 1;
        }
        if ((b & 0xE0) == 0xC0) {
            return 2;
        }
        if ((b & 0xF0) == 0xE0) {
            return 3;
        }
        if ((b & 0xF8) == 0xF0) {
            return 4;
        }
        return 1;
    }

    /** The bytes llama2.c prints for {@code token} after {@code previous}. */
    public byte[] pieceBytes(int previous, int token) {
        byte[] piece = pieces[token];
        if (previous == BOS && piece.length > 0 && piece[0] == ' ') {
            byte[] stripped = new byte[piece.length - 1];
            System.arraycopy(piece, 1, stripped, 0, stripped.length);
            return stripped;
        }
        if (piece.length == 6 && piece[0] == '<' && piece[1] == '0' && piece[2] == 'x' && piece[5] == '>') {
            int hi = Character.digit(piece[3], 16);
            int lo = Character.digit(piece[4], 16);
            if (hi >= 0 && lo >= 0) {
                return new byte[] {(byte) (hi * 16 + lo)};
            }
        }
        return piece;
    }

    @Override
    public String decode(int[] ids, int previous) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int prev = previous;
        for (int id : ids) {
            if (id < 0 || id >= pieces.length) {
                throw new EdgeSplitException(ErrorCode.INPUT_INVALID,
                        "token id " + id + " is outside the vocabulary (0.." + (pieces.length - 1) + ")");
            }
            out.writeBytes(pieceBytes(prev, id));
            prev = id;
        }
        return out.toString(StandardCharsets.UTF_8);
    }
}
