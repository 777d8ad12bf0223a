package io.edgesplit.onnx.graph;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.SparseTensorProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Read-only index over a graph's top-level nodes in their (topological) order: who produces and
 * who consumes each tensor, which tensors are constants, and which nodes only compute constants.
 * Inputs that nodes' subgraphs (If, Loop, Scan) take from the outer scope count as consumed by
 * the node.
 */
public final class GraphIndex {
    private static final Set<String> NONDETERMINISTIC = Set.of(
            "RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli");

    private final GraphProto graph;
    private final List<NodeProto> nodes;
    private final List<List<String>> nodeInputs;
    private final Map<String, Integer> producer = new HashMap<>();
    private final Map<String, Integer> lastConsumer = new HashMap<>();
    private final Map<String, List<Integer>> consumers = new HashMap<>();
    private final Map<String, TensorProto> initializers = new HashMap<>();
    private final List<ValueInfoProto> inputs = new ArrayList<>();
    private final Set<String> inputNames = new LinkedHashSet<>();
    private final List<String> outputNames = new ArrayList<>();
    private final Set<String> constantTensors = new HashSet<>();
    private final BitSet constantNodes = new BitSet();

    public GraphIndex(GraphProto graph) {
        this.graph = graph;
        this.nodes = graph.getNodeList();
        for (TensorProto t : graph.getInitializerList()) {
            initializers.put(t.getName(), t);
        }
        Set<String> sparse = new HashSet<>();
        for (SparseTensorProto t : graph.getSparseInitializerList()) {
            sparse.add(t.getValues().getName());
        }
        for (ValueInfoProto vi : graph.getInputList()) {
            // Older IR versions list initializers as graph inputs too; those are constants here.
            if (!initializers.containsKey(vi.getName()) && !sparse.contains(vi.getName())) {
                inputs.add(vi);
                inputNames.add(vi.getName());
            }
        }
        for (ValueInfoProto vi : graph.getOutputList()) {
            outputNames.add(vi.getName());
        }
        constantTensors.addAll(initializers.keySet());
        constantTensors.addAll(sparse);
        List<List<String>> ins = new ArrayList<>(nodes.size());
        for (int i = 0; i < nodes.size(); i++) {
            NodeProto n = nodes.get(i);
            List<String> consumed = new ArrayList<>();
            for (String in : n.getInputList()) {
                if (!in.isEmpty()) {
                    consumed.add(in);
                }
            }
            consumed.addAll(implicitInputs(n));
            ins.add(List.copyOf(consumed));
            for (String in : consumed) {
                lastConsumer.put(in, i);
                consumers.computeIfAbsent(in, k -> new ArrayList<>()).add(i);
            }
            boolean constant = !NONDETERMINISTIC.contains(n.getOpType()) && !hasSubgraph(n);
            for (String in : consumed) {
                constant &= constantTensors.contains(in);
            }
            for (String out : n.getOutputList()) {
                if (!out.isEmpty()) {
                    producer.put(out, i);
                    if (constant) {
                        constantTensors.add(out);
                    }
                }
            }
            if (constant) {
                constantNodes.set(i);
            }
        }
        this.nodeInputs = List.copyOf(ins);
    }

    public GraphProto graph() {
        return graph;
    }

    public int nodeCount() {
        return nodes.size();
    }

    public NodeProto node(int i) {
        return nodes.get(i);
    }

    /** Every tensor node i reads, its subgraphs' outer-scope reads included; no empty names. */
    public List<String> inputsOf(int i) {
        return nodeInputs.get(i);
    }

    /** The node producing the tensor, or -1 for graph inputs, initializers and unknown names. */
    public int producerOf(String tensor) {
        return producer.getOrDefault(tensor, -1);
    }

    /** The last node reading the tensor, or -1 if no node reads it. */
    public int lastConsumerOf(String tensor) {
        return lastConsumer.getOrDefault(tensor, -1);
    }

    public List<Integer> consumersOf(String tensor) {
        return consumers.getOrDefault(tensor, List.of());
    }

    public boolean isConstant(String tensor) {
        return constantTensors.contains(tensor);
    }

    /** True if node i computes only from constants: it is duplicated into every block that needs it. */
    public boolean isConstantNode(int i) {
        return constantNodes.get(i);
    }

    public TensorProto initializer(String name) {
        return initializers.get(name);
    }

    public Map<String, TensorProto> initializers() {
        return Collections.unmodifiableMap(initializers);
    }

    /** Graph inputs that are not initializers, in graph order. */
    public List<ValueInfoProto> inputs() {
        return Collections.unmodifiableList(inputs);
    }

    public boolean isGraphInput(String tensor) {
        return inputNames.contains(tensor);
    }

    public List<String> outputNames() {
        return Collections.unmodifiableList(outputNames);
    }

    public boolean isGraphOutput(String tensor) {
        return outputNames.contains(tensor);
    }

    /** Number of nodes that do real work (constant-only nodes excluded). */
    public int computeNodeCount() {
        return nodes.size() - constantNodes.cardinality();
    }

    private static boolean hasSubgraph(NodeProto n) {
        for (AttributeProto a : n.getAttributeList()) {
            if (a.hasG() || a.getGraphsCount() > 0) {
                return true;
            }
        }
        return false;
    }

    /** Names a node's subgraphs read from the enclosing scope. */
    static Set<String> implicitInputs(NodeProto n) {
        Set<String> out = new LinkedHashSet<>();
        for (AttributeProto a : n.getAttributeList()) {
            if (a.hasG()) {
                collectOuterReads(a.getG(), out);
            }
            for (GraphProto g : a.getGraphsList()) {
                collectOuterReads(g, out);
            }
        }
        return out;
    }

    private static void collectOuterReads(GraphProto g, Set<String> out) {
        Set<String> defined = new HashSet<>();
        for (ValueInfoProto vi : g.getInputList()) {
            defined.add(vi.getName());
        }
        for (TensorProto t : g.getInitializerList()) {
            defined.add(t.getName());
        }
        for (SparseTensorProto t : g.getSparseInitializerList()) {
            defined.add(t.getValues().getName());
        }
        for (NodeProto n : g.getNodeList()) {
            for (String in : n.getInputList()) {
                if (!in.isEmpty() && !defined.contains(in)) {
                    out.add(in);
                }
            }
            for (String in : implicitInputs(n)) {
                if (!defined.contains(in)) {
                    out.add(in);
                }
            }
            defined.addAll(n.getOutputList());
        }
        for (ValueInfoProto vi : g.getOutputList()) {
            if (!defined.contains(vi.getName())) {
                out.add(vi.getName());
            }
        }
    }
}
