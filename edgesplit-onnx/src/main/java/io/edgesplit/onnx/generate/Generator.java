package io.edgesplit.onnx.generate;

import ai.onnxruntime.OnnxTensor;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.onnx.graph.AnalyzedModel;
import io.edgesplit.onnx.runtime.LocalPipeline;
import io.edgesplit.onnx.runtime.OrtRuntime;
import io.edgesplit.onnx.verify.DecodeInputs;
import io.edgesplit.onnx.verify.EquivalenceVerifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The generation loop: prefill the prompt through the pipeline, then one decode step per token
 * with the KV caches kept in the stages, sampling each next token. Several sequences can be
 * interleaved step by step, each with its own caches.
 */
public final class Generator {
    private final StepRunner runner;
    private final DecodeInputs inputs;
    private final int context;
    private final int vocab;

    /**
     * @param context the model's context length (positions), or {@link Integer#MAX_VALUE} if unknown
     */
    public Generator(StepRunner runner, DecodeInputs inputs, int context, int vocab) {
        this.runner = Objects.requireNonNull(runner, "runner == null");
        this.inputs = Objects.requireNonNull(inputs, "inputs == null");
        this.context = context;
        this.vocab = vocab;
    }

    public static Generator forModel(AnalyzedModel am, LocalPipeline pipeline) {
        return forModel(am, new PipelineStepRunner(pipeline, EquivalenceVerifier.logitsOutput(am)));
    }

    /** A generator whose steps run wherever {@code runner} runs them (for example on workers). */
    public static Generator forModel(AnalyzedModel am, StepRunner runner) {
        int context = am.model().contextLength();
        String logits = EquivalenceVerifier.logitsOutput(am);
        var meta = am.probe().meta(logits);
        int vocab = meta == null || meta.rank() == 0 ? -1 : (int) meta.shapeA()[meta.rank() - 1];
        return new Generator(runner, new DecodeInputs(am.index(), am.state()), context, vocab);
    }

    /** Receives each token as soon as it is chosen. */
    @FunctionalInterface
    public interface TokenSink {
        void accept(int token);
    }

    /** One sequence to generate. */
    public record Request(String id, int[] prompt, Sampling sampling, int maxTokens, Set<Integer> stops, TokenSink sink) {
        public Request {
            Objects.requireNonNull(id, "id == null");
            prompt = prompt.clone();
            if (prompt.length == 0) {
                throw EdgeSplitException.invalidArgument("the prompt has no tokens (not even BOS)");
            }
            if (maxTokens < 0) {
                throw EdgeSplitException.invalidArgument("--max-tokens must be >= 0: " + maxTokens);
            }
            stops = Set.copyOf(stops);
        }
    }

    /**
     * @param finishReason {@code stop} (a stop token), {@code length} (max tokens) or {@code context}
     */
    public record Result(String id, int[] tokens, String finishReason, long prefillNanos, long decodeNanos) {}

    public Result generate(Request request) {
        return generateInterleaved(List.of(request)).getFirst();
    }

    /** Runs the requests round-robin, one step each in turn; each keeps its own KV caches. */
    public List<Result> generateInterleaved(List<Request> requests) {
        List<State> states = new ArrayList<>();
        for (Request r : requests) {
            checkPrompt(r);
            states.add(new State(r));
        }
        try {
            boolean active = true;
            while (active) {
                active = false;
                for (State s : states) {
                    if (s.finish == null) {
                        step(s);
                        active |= s.finish == null;
                    }
                }
            }
        } finally {
            for (Request r : requests) {
                runner.endSequence(r.id());
            }
        }
        List<Result> results = new ArrayList<>();
        for (State s : states) {
            results.add(new Result(s.request.id(), s.generated.stream().mapToInt(Integer::intValue).toArray(),
                    s.finish, s.prefillNanos, s.decodeNanos));
        }
        return results;
    }

    private void checkPrompt(Request r) {
        if (r.prompt().length >= context) {
            throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT, "the prompt has " + r.prompt().length
                    + " tokens but the model's context is " + context + " tokens");
        }
        if (vocab > 0) {
            for (int t : r.prompt()) {
                if (t < 0 || t >= vocab) {
                    throw new EdgeSplitException(ErrorCode.INVALID_ARGUMENT,
                            "token id " + t + " is outside the vocabulary (0.." + (vocab - 1) + ")");
                }
            }
        }
    }

    private static final class State {
        final Request request;
        final Sampler sampler;
        final List<Integer> generated = new ArrayList<>();
        long past;
        String finish;
        long prefillNanos;
        long decodeNanos;

        State(Request request) {
            this.request = request;
            this.sampler = new Sampler(request.sampling());
            if (request.maxTokens() == 0) {
                finish = "length";
            }
        }
    }

    private void step(State s) {
        long[] fresh;
        if (s.past == 0) {
            fresh = new long[s.request.prompt().length];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = s.request.prompt()[i];
            }
        } else {
            fresh = new long[] {s.generated.getLast()};
        }
        long t0 = System.nanoTime();
        int next;
        var in = inputs.step(OrtRuntime.get().env(), new long[][] {fresh}, s.past);
        try {
            float[] row = runner.lastLogits(s.request.id(), in);
            next = s.sampler.next(row, 0, row.length);
        } finally {
            in.values().forEach(OnnxTensor::close);
        }
        long elapsed = System.nanoTime() - t0;
        if (s.past == 0) {
            s.prefillNanos = elapsed;
        } else {
            s.decodeNanos += elapsed;
        }
        s.past += fresh.length;
        if (s.request.stops().contains(next)) {
            s.finish = "stop";
            return;
        }
        s.generated.add(next);
        s.request.sink().accept(next);
        if (s.generated.size() >= s.request.maxTokens()) {
            s.finish = "length";
        } else if (s.past >= context) {
            s.finish = "context";
        }
    }
}
