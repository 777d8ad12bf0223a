package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import io.edgesplit.core.error.EdgeSplitException;
import io.edgesplit.core.error.ErrorCode;
import io.edgesplit.core.model.BlockProfile;
import io.edgesplit.core.model.BlockRole;
import io.edgesplit.core.model.ModelKind;
import io.edgesplit.core.model.ModelProfile;
import io.edgesplit.onnx.load.LoadedModel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds a model's cut points and groups its nodes into blocks.
 *
 * <p>A cut at position p (between node p-1 and node p of the topological order) is crossed by
 * every non-constant tensor produced before p and read at or after p. Constants (initializers and
 * constant-only subgraphs) are duplicated into the blocks that need them; graph inputs are fed to
 * the blocks that read them. See {@code partitioning.md} beside this class.
 */
public final class ModelAnalyzer {
    /** Layer scopes in node and tensor names: {@code /encoder/layer.3/}, {@code h.0}, {@code model.layers.11}. */
    private static final Pattern LAYER = Pattern.compile(
            "(?:^|[/._:])(?:layers?|h|blocks?|blk|encoder_layer|decoder_layer|transformer_blocks?)[._/:]?(\\d+)(?=$|[/._:])",
            Pattern.CASE_INSENSITIVE);
    private static final int PRE = Integer.MIN_VALUE;
    private static final int POST = Integer.MAX_VALUE;
    private static final int NONE = -1;

    /** @param maxBlocks most blocks for graphs without layer structure */
    public record Options(int maxBlocks, Map<String, Long> dims) {
        public Options {
            if (maxBlocks < 1) {
                throw EdgeSplitException.invalidArgument("--max-blocks must be >= 1: " + maxBlocks);
            }
            dims = Map.copyOf(dims);
        }

        public static Options defaults() {
            return new Options(16, Map.of());
        }
    }

    private ModelAnalyzer() {}

    public static AnalyzedModel analyze(LoadedModel model, Options options) {
        GraphIndex index = new GraphIndex(model.proto().getGraph());
        ShapeProbe.Result probe = ShapeProbe.run(model.proto(), index, options.dims(), model.name());
        List<StatePair> state = StatePair.detect(
                index.inputs().stream().map(v -> v.getName()).toList(), index.outputNames());
        int n = index.nodeCount();

        List<List<String>> crossing = crossingSets(index);
        double[] bytes = new double[n + 1];
        Arrays.fill(bytes, Double.POSITIVE_INFINITY);
        for (int p = 1; p < n; p++) {
            bytes[p] = crossingBytes(crossing.get(p), probe);
        }

        String noCut = null;
        int[] cutPositions;
        List<BlockRole> roles = new ArrayList<>();
        List<String> names = new ArrayList<>();
        ModelKind kind = state.isEmpty() ? ModelKind.GRAPH : ModelKind.DECODER;
        int[] labels = layerLabels(index);
        int[] layered = layeredCuts(index, labels, bytes, roles, names);
        if (index.computeNodeCount() < 2) {
            noCut = "the graph has " + index.computeNodeCount() + " compute node(s); there is nothing to cut between";
            cutPositions = new int[0];
            roles.clear();
            names.clear();
        } else if (layered != null) {
            cutPositions = layered;
            if (kind == ModelKind.GRAPH) {
                kind = ModelKind.ENCODER;
            }
        } else {
            roles.clear();
            names.clear();
            cutPositions = thinnestCuts(index, crossing, bytes, probe, options.maxBlocks());
            if (cutPositions.length == 0) {
                noCut = options.maxBlocks() == 1 ? "--max-blocks is 1"
                        : "every position between compute nodes is crossed by a value that is not a tensor";
            }
        }
        if (roles.isEmpty()) {
            for (int b = 0; b <= cutPositions.length; b++) {
                roles.add(BlockRole.SEGMENT);
                names.add(cutPositions.length == 0 ? "whole" : "segment." + b);
            }
        }

        List<Block> blocks = new ArrayList<>();
        List<CutPoint> cuts = new ArrayList<>();
        for (int b = 0; b <= cutPositions.length; b++) {
            int start = b == 0 ? 0 : cutPositions[b - 1];
            int end = b == cutPositions.length ? n : cutPositions[b];
            blocks.add(block(index, b, names.get(b), roles.get(b), start, end, state));
            if (b < cutPositions.length) {
                cuts.add(new CutPoint(b, end, crossing.get(end), bytes[end] / probe.units()));
            }
        }
        checkStateStaysInBlocks(model.name(), index, blocks, state);
        ModelProfile profile = profile(model.name(), kind, index, probe, blocks, cuts, state);
        return new AnalyzedModel(model, index, probe, kind, blocks, cuts, state, profile, noCut);
    }

    /** Crossing activations for each position 0..n (0 and n are empty). */
    static List<List<String>> crossingSets(GraphIndex index) {
        int n = index.nodeCount();
        List<List<String>> sets = new ArrayList<>(n + 1);
        for (int p = 0; p <= n; p++) {
            sets.add(new ArrayList<>());
        }
        for (int i = 0; i < n; i++) {
            if (index.isConstantNode(i)) {
                continue;
            }
            for (String out : index.node(i).getOutputList()) {
                if (out.isEmpty()) {
                    continue;
                }
                int last = index.lastConsumerOf(out);
                for (int p = i + 1; p <= last; p++) {
                    sets.get(p).add(out);
                }
            }
        }
        return sets;
    }

    private static double crossingBytes(List<String> tensors, ShapeProbe.Result probe) {
        double total = 0;
        for (String t : tensors) {
            TensorMeta m = probe.meta(t);
            if (m == null || m.elemType() == 0 || DataTypes.size(m.elemType()) == 0) {
                return Double.POSITIVE_INFINITY;
            }
            total += m.bytesA();
        }
        return total;
    }

    // ---- layer structure -------------------------------------------------------------------

    static int layerOf(String name) {
        Matcher m = LAYER.matcher(name);
        int found = NONE;
        while (m.find()) {
            try {
                found = Integer.parseInt(m.group(1));
            } catch (NumberFormatException e) {
                return NONE;
            }
        }
        return found;
    }

    /** Layer number of each compute node from its name, its outputs' names, or its weights' names. */
    static int[] layerLabels(GraphIndex index) {
        int n = index.nodeCount();
        int[] labels = new int[n];
        Arrays.fill(labels, NONE);
        for (int i = 0; i < n; i++) {
            if (index.isConstantNode(i)) {
                continue;
            }
            NodeProto node = index.node(i);
            int label = layerOf(node.getName());
            for (int o = 0; label == NONE && o < node.getOutputCount(); o++) {
                label = layerOf(node.getOutput(o));
            }
            if (label == NONE) {
                Set<Integer> weightLabels = new HashSet<>();
                boolean unlabeledWeight = false;
                for (String in : node.getInputList()) {
                    if (index.initializer(in) != null) {
                        int l = layerOf(in);
                        if (l == NONE) {
                            unlabeledWeight = true;
                        } else {
                            weightLabels.add(l);
                        }
                    }
                }
                if (weightLabels.size() == 1 && !unlabeledWeight) {
                    label = weightLabels.iterator().next();
                }
            }
            labels[i] = label;
        }
        return labels;
    }

    /**
     * Cuts for a model with layer scopes: embeddings, one block per layer, head. Each boundary
     * goes where the fewest nodes land on the wrong side of it, and among those where the fewest
     * bytes cross. Returns null when the model has no usable layer structure.
     */
    static int[] layeredCuts(GraphIndex index, int[] labels, double[] bytes, List<BlockRole> roles, List<String> names) {
        int n = index.nodeCount();
        TreeSet<Integer> distinct = new TreeSet<>();
        int firstLabeled = -1;
        int lastLabeled = -1;
        for (int i = 0; i < n; i++) {
            if (labels[i] != NONE) {
                distinct.add(labels[i]);
                lastLabeled = i;
                if (firstLabeled < 0) {
                    firstLabeled = i;
                }
            }
        }
        if (distinct.size() < 2) {
            return null;
        }
        List<Integer> layerIds = new ArrayList<>(distinct);
        int layers = layerIds.size();
        // group: -1 for embeddings, 0..layers-1 for layers by rank, layers for head, NONE_GROUP for unknown.
        final int unknown = Integer.MIN_VALUE;
        int[] group = new int[n];
        boolean hasPre = false;
        boolean hasPost = false;
        for (int i = 0; i < n; i++) {
            if (index.isConstantNode(i)) {
                group[i] = unknown;
            } else if (labels[i] != NONE) {
                group[i] = layerIds.indexOf(labels[i]);
            } else if (i < firstLabeled) {
                group[i] = -1;
                hasPre = true;
            } else if (i > lastLabeled) {
                group[i] = layers;
                hasPost = true;
            } else {
                group[i] = unknown;
            }
        }
        List<Integer> cuts = new ArrayList<>();
        int firstBoundary = hasPre ? 0 : 1;
        int lastBoundary = hasPost ? layers : layers - 1;
        for (int r = firstBoundary; r <= lastBoundary; r++) {
            // misplaced(p) = nodes before p with group >= r, plus nodes at or after p with group < r.
            int after = 0;
            for (int i = 0; i < n; i++) {
                if (group[i] != unknown && group[i] < r) {
                    after++;
                }
            }
            int before = 0;
            int best = -1;
            long bestMisplaced = Long.MAX_VALUE;
            double bestBytes = Double.POSITIVE_INFINITY;
            for (int p = 1; p < n; p++) {
                int prev = group[p - 1];
                if (prev != unknown) {
                    if (prev >= r) {
                        before++;
                    } else {
                        after--;
                    }
                }
                long misplaced = (long) before + after;
                if (Double.isInfinite(bytes[p])) {
                    continue;
                }
                if (misplaced < bestMisplaced || (misplaced == bestMisplaced && bytes[p] < bestBytes)) {
                    best = p;
                    bestMisplaced = misplaced;
                    bestBytes = bytes[p];
                }
            }
            if (best < 0 || (!cuts.isEmpty() && best <= cuts.getLast())) {
                return null;
            }
            cuts.add(best);
        }
        if (hasPre) {
            roles.add(BlockRole.EMBEDDINGS);
            names.add("embeddings");
        }
        for (int r = 0; r < layers; r++) {
            roles.add(BlockRole.LAYER);
            names.add("layer." + layerIds.get(r));
        }
        if (hasPost) {
            roles.add(BlockRole.HEAD);
            names.add("head");
        }
        return cuts.stream().mapToInt(Integer::intValue).toArray();
    }

    // ---- graphs without layer structure ----------------------------------------------------

    /**
     * Cuts for any other graph: only positions crossed by the fewest tensors (the graph's thinnest
     * places, e.g. between residual blocks) are candidates; among them at most maxBlocks-1 are
     * chosen so that the largest block has the fewest FLOPs, ties broken by fewer crossing bytes.
     */
    static int[] thinnestCuts(GraphIndex index, List<List<String>> crossing, double[] bytes,
            ShapeProbe.Result probe, int maxBlocks) {
        int n = index.nodeCount();
        int minCount = Integer.MAX_VALUE;
        for (int p = 1; p < n; p++) {
            if (!Double.isInfinite(bytes[p]) && hasComputeOnBothSides(index, p)) {
                minCount = Math.min(minCount, crossing.get(p).size());
            }
        }
        List<Integer> candidates = new ArrayList<>();
        for (int p = 1; p < n; p++) {
            if (!Double.isInfinite(bytes[p]) && crossing.get(p).size() == minCount && hasComputeOnBothSides(index, p)
                    && !index.isConstantNode(p - 1)) {
                candidates.add(p);
            }
        }
        if (candidates.isEmpty() || maxBlocks < 2) {
            return new int[0];
        }
        double[] prefix = new double[n + 1];
        for (int i = 0; i < n; i++) {
            double f = index.isConstantNode(i) ? 0 : FlopCounter.flops(index.node(i), t -> shapeOf(index, probe, t));
            prefix[i + 1] = prefix[i] + f + 1; // +1: every node costs something, so empty-FLOP nodes still balance
        }
        // points: 0 (start), candidates..., n (end). dp[k][j]: best (maxFlops, bytes) to end a block at point j with k blocks.
        List<Integer> points = new ArrayList<>();
        points.add(0);
        points.addAll(candidates);
        points.add(n);
        int m = points.size();
        int maxK = Math.min(maxBlocks, m - 1);
        double[][] cost = new double[maxK + 1][m];
        double[][] tie = new double[maxK + 1][m];
        int[][] from = new int[maxK + 1][m];
        for (double[] row : cost) {
            Arrays.fill(row, Double.POSITIVE_INFINITY);
        }
        cost[0][0] = 0;
        for (int k = 1; k <= maxK; k++) {
            for (int j = 1; j < m; j++) {
                for (int i = 0; i < j; i++) {
                    if (Double.isInfinite(cost[k - 1][i])) {
                        continue;
                    }
                    double block = prefix[points.get(j)] - prefix[points.get(i)];
                    double c = Math.max(cost[k - 1][i], block);
                    double t = tie[k - 1][i] + (j == m - 1 ? 0 : bytes[points.get(j)]);
                    if (c < cost[k][j] - 1e-9 || (Math.abs(c - cost[k][j]) <= 1e-9 && t < tie[k][j])) {
                        cost[k][j] = c;
                        tie[k][j] = t;
                        from[k][j] = i;
                    }
                }
            }
        }
        int bestK = 1;
        for (int k = 1; k <= maxK; k++) {
            if (cost[k][m - 1] < cost[bestK][m - 1] - 1e-9) {
                bestK = k;
            }
        }
        List<Integer> chosen = new ArrayList<>();
        int j = m - 1;
        for (int k = bestK; k > 1; k--) {
            j = from[k][j];
            chosen.add(points.get(j));
        }
        chosen.sort(Comparator.naturalOrder());
        return chosen.stream().mapToInt(Integer::intValue).toArray();
    }

    private static boolean hasComputeOnBothSides(GraphIndex index, int p) {
        boolean before = false;
        for (int i = 0; i < p && !before; i++) {
            before = !index.isConstantNode(i);
        }
        boolean after = false;
        for (int i = p; i < index.nodeCount() && !after; i++) {
            after = !index.isConstantNode(i);
        }
        return before && after;
    }

    // ---- blocks ----------------------------------------------------------------------------

    /** Node indices a block [start, end) runs: its compute nodes plus the constant nodes they need. */
    public static List<Integer> nodesOf(GraphIndex index, int start, int end) {
        BitSet take = new BitSet();
        List<Integer> work = new ArrayList<>();
        for (int i = start; i < end; i++) {
            if (!index.isConstantNode(i)) {
                take.set(i);
                work.add(i);
            } else {
                for (String out : index.node(i).getOutputList()) {
                    if (index.isGraphOutput(out)) {
                        take.set(i);
                        work.add(i);
                    }
                }
            }
        }
        while (!work.isEmpty()) {
            int i = work.removeLast();
            for (String in : index.inputsOf(i)) {
                int p = index.producerOf(in);
                if (p >= 0 && index.isConstantNode(p) && !take.get(p)) {
                    take.set(p);
                    work.add(p);
                }
            }
        }
        return take.stream().boxed().toList();
    }

    /** Inputs and outputs of the node range [start, end). */
    static Block block(GraphIndex index, int blockIndex, String name, BlockRole role, int start, int end,
            List<StatePair> state) {
        List<Integer> nodes = nodesOf(index, start, end);
        Set<String> produced = new HashSet<>();
        for (int i : nodes) {
            produced.addAll(index.node(i).getOutputList());
        }
        Set<String> inputs = new LinkedHashSet<>();
        for (var in : index.inputs()) {
            for (int i : nodes) {
                if (index.inputsOf(i).contains(in.getName())) {
                    inputs.add(in.getName());
                    break;
                }
            }
        }
        TreeSet<String> external = new TreeSet<>(Comparator
                .comparingInt(index::producerOf).thenComparing(Comparator.naturalOrder()));
        for (int i : nodes) {
            for (String in : index.inputsOf(i)) {
                if (!produced.contains(in) && index.initializer(in) == null && !index.isGraphInput(in)
                        && !index.isConstant(in)) {
                    external.add(in);
                }
            }
        }
        inputs.addAll(external);
        Set<String> outputs = new LinkedHashSet<>();
        for (String out : index.outputNames()) {
            if (produced.contains(out) && index.producerOf(out) >= start && index.producerOf(out) < end) {
                outputs.add(out);
            }
        }
        for (int i = start; i < end; i++) {
            if (index.isConstantNode(i)) {
                continue;
            }
            for (String out : index.node(i).getOutputList()) {
                if (!out.isEmpty() && index.lastConsumerOf(out) >= end) {
                    outputs.add(out);
                }
            }
        }
        List<StatePair> own = state.stream()
                .filter(s -> inputs.contains(s.past()) || outputs.contains(s.present()))
                .toList();
        return new Block(blockIndex, name, role, start, end, List.copyOf(inputs), List.copyOf(outputs), own);
    }

    private static void checkStateStaysInBlocks(String model, GraphIndex index, List<Block> blocks, List<StatePair> state) {
        for (StatePair s : state) {
            Block reads = null;
            Block writes = null;
            for (Block b : blocks) {
                if (b.inputs().contains(s.past())) {
                    if (reads != null) {
                        throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, model
                                + ": KV input '" + s.past() + "' is read by blocks " + reads.name() + " and " + b.name()
                                + "; a KV cache must live in one block");
                    }
                    reads = b;
                }
                if (b.outputs().contains(s.present())) {
                    writes = b;
                }
            }
            if (reads != null && writes != null && reads != writes) {
                throw new EdgeSplitException(ErrorCode.MODEL_UNSUPPORTED, model
                        + ": KV pair " + s.past() + " -> " + s.present() + " is split between blocks "
                        + reads.name() + " and " + writes.name());
            }
        }
    }

    // ---- profile ---------------------------------------------------------------------------

    private static ModelProfile profile(String name, ModelKind kind, GraphIndex index, ShapeProbe.Result probe,
            List<Block> blocks, List<CutPoint> cuts, List<StatePair> state) {
        List<BlockProfile> profiles = new ArrayList<>();
        for (Block b : blocks) {
            double flops = 0;
            int computeNodes = 0;
            for (int i = b.startNode(); i < b.endNode(); i++) {
                if (!index.isConstantNode(i)) {
                    flops += FlopCounter.flops(index.node(i), t -> shapeOf(index, probe, t));
                    computeNodes++;
                }
            }
            double kv = 0;
            for (StatePair s : b.state()) {
                TensorMeta present = probe.meta(s.present());
                TensorMeta past = probe.meta(s.past());
                if (present != null && past != null) {
                    kv += present.bytesA() - past.bytesA();
                }
            }
            double crossing = b.index() < cuts.size() ? cuts.get(b.index()).bytesPerUnit() : 0;
            profiles.add(new BlockProfile(b.index(), b.name(), b.role(), computeNodes, weightBytes(index, b),
                    flops / probe.units(), crossing, Math.max(0, kv / probe.units())));
        }
        // what travels between the source and the model: inputs in, outputs out, KV caches never
        Set<String> kvTensors = new HashSet<>();
        for (StatePair s : state) {
            kvTensors.add(s.past());
            kvTensors.add(s.present());
        }
        double in = 0;
        for (var vi : index.inputs()) {
            TensorMeta m = probe.meta(vi.getName());
            if (m != null && !kvTensors.contains(vi.getName())) {
                in += m.bytesA();
            }
        }
        double out = 0;
        for (String o : index.outputNames()) {
            TensorMeta m = probe.meta(o);
            if (m != null && !kvTensors.contains(o)) {
                out += m.bytesA();
            }
        }
        return new ModelProfile(name, kind, probe.unit(), profiles, in / probe.units(), out / probe.units());
    }

    static long[] shapeOf(GraphIndex index, ShapeProbe.Result probe, String tensor) {
        TensorMeta m = probe.meta(tensor);
        if (m != null) {
            return m.shapeA();
        }
        TensorProto init = index.initializer(tensor);
        return init == null ? null : init.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** Bytes of every initializer and constant value the block's nodes use. */
    public static long weightBytes(GraphIndex index, Block b) {
        Set<String> seen = new HashSet<>();
        long total = 0;
        for (int i : nodesOf(index, b.startNode(), b.endNode())) {
            for (String in : index.inputsOf(i)) {
                TensorProto t = index.initializer(in);
                if (t != null && seen.add(in)) {
                    total += tensorBytes(t);
                }
            }
            for (AttributeProto a : index.node(i).getAttributeList()) {
                if (a.hasT()) {
                    total += tensorBytes(a.getT());
                }
            }
        }
        return total;
    }

    public static long tensorBytes(TensorProto t) {
        if (!t.getRawData().isEmpty()) {
            return t.getRawData().size();
        }
        long n = DataTypes.size(t.getDataType());
        for (long d : t.getDimsList()) {
            n *= d;
        }
        return n;
    }
}
