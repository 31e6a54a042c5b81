package dev.momstream.trainer.export;

import dev.momstream.trainer.onnx.WeightsLayout;
import dev.momstream.trainer.onnx.proto.Onnx;
import dev.momstream.trainer.onnx.proto.ProtoWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Builds one ONNX graph node by node. Values get generated names; weights are initializers
 * under their canonical names, stored in the export's external-data file; small constants are
 * initializers inside the model. Nodes are appended in creation order, which is a topological
 * order because a node's inputs always exist before it.
 */
final class GraphBuilder {
    private final WeightsLayout weights;
    /** Where new nodes go: the main graph, or a branch while one is being built. */
    private List<ProtoWriter> nodes = new ArrayList<>();
    private final List<ProtoWriter> initializers = new ArrayList<>();
    private final List<ProtoWriter> inputs = new ArrayList<>();
    private final List<ProtoWriter> outputs = new ArrayList<>();
    private final Set<String> weightsUsed = new LinkedHashSet<>();
    private final Map<String, String> constants = new HashMap<>();
    private int counter;
    private int nodeCount;

    GraphBuilder(WeightsLayout weights) {
        this.weights = weights;
    }

    /** A node under construction: add attributes, then take its output(s). */
    final class Node {
        private final ProtoWriter proto = new ProtoWriter();
        private final String type;

        private Node(String type, String... in) {
            this.type = type;
            for (String i : in) {
                proto.string(Onnx.NODE_INPUT, i);
            }
            proto.string(Onnx.NODE_OP_TYPE, type);
        }

        Node attr(String name, long value) {
            return attr(new ProtoWriter().string(Onnx.ATTR_NAME, name).varint(Onnx.ATTR_I, value)
                    .varint(Onnx.ATTR_TYPE, Onnx.ATTR_TYPE_INT));
        }

        Node attr(String name, float value) {
            return attr(new ProtoWriter().string(Onnx.ATTR_NAME, name).float32(Onnx.ATTR_F, value)
                    .varint(Onnx.ATTR_TYPE, Onnx.ATTR_TYPE_FLOAT));
        }

        Node attr(String name, String value) {
            return attr(new ProtoWriter().string(Onnx.ATTR_NAME, name).string(Onnx.ATTR_S, value)
                    .varint(Onnx.ATTR_TYPE, Onnx.ATTR_TYPE_STRING));
        }

        /** A subgraph attribute (an If branch), made by {@link GraphBuilder#branch}. */
        Node attr(String name, ProtoWriter graph) {
            return attr(new ProtoWriter().string(Onnx.ATTR_NAME, name).message(Onnx.ATTR_G, graph)
                    .varint(Onnx.ATTR_TYPE, Onnx.ATTR_TYPE_GRAPH));
        }

        Node ints(String name, long... values) {
            return attr(new ProtoWriter().string(Onnx.ATTR_NAME, name).varints(Onnx.ATTR_INTS, values)
                    .varint(Onnx.ATTR_TYPE, Onnx.ATTR_TYPE_INTS));
        }

        private Node attr(ProtoWriter a) {
            proto.message(Onnx.NODE_ATTRIBUTE, a);
            return this;
        }

        /** Finishes the node with one generated output name. */
        String out() {
            return named(type + "_" + (counter++));
        }

        /** Finishes the node with one output of the given name (a graph output). */
        String named(String name) {
            return outs(name)[0];
        }

        /** Finishes the node with {@code n} generated output names. */
        String[] outs(int n) {
            String[] names = new String[n];
            int id = counter++;
            for (int i = 0; i < n; i++) {
                names[i] = type + "_" + id + "_" + i;
            }
            return outs(names);
        }

        private String[] outs(String... names) {
            for (String n : names) {
                proto.string(Onnx.NODE_OUTPUT, n);
            }
            proto.string(Onnx.NODE_NAME, "n" + (nodeCount++) + "_" + type);
            nodes.add(proto);
            return names;
        }
    }

    Node node(String type, String... in) {
        return new Node(type, in);
    }

    String op(String type, String... in) {
        return node(type, in).out();
    }

    /**
     * A subgraph for an If branch: the nodes {@code body} creates, with its result as the one
     * output. Values and constants of the enclosing graph are visible inside.
     */
    ProtoWriter branch(String name, java.util.function.Supplier<String> body, int elemType, Object... dims) {
        List<ProtoWriter> outer = nodes;
        nodes = new ArrayList<>();
        try {
            String result = body.get();
            ProtoWriter graph = new ProtoWriter();
            nodes.forEach(n -> graph.message(Onnx.GRAPH_NODE, n));
            graph.string(Onnx.GRAPH_NAME, name);
            graph.message(Onnx.GRAPH_OUTPUT, valueInfo(result, elemType, dims));
            return graph;
        } finally {
            nodes = outer;
        }
    }

    /** A parameter: an initializer of the canonical name whose data is in the weights file. */
    String weight(String name) {
        if (weightsUsed.add(name)) {
            WeightsLayout.Entry e = weights.get(name);
            initializers.add(new ProtoWriter()
                    .varints(Onnx.TENSOR_DIMS, e.dims())
                    .varint(Onnx.TENSOR_DATA_TYPE, Onnx.FLOAT)
                    .string(Onnx.TENSOR_NAME, name)
                    .message(Onnx.TENSOR_EXTERNAL_DATA, entry("location", weights.file()))
                    .message(Onnx.TENSOR_EXTERNAL_DATA, entry("offset", Long.toString(e.offset())))
                    .message(Onnx.TENSOR_EXTERNAL_DATA, entry("length", Long.toString(e.length())))
                    .varint(Onnx.TENSOR_DATA_LOCATION, Onnx.DATA_LOCATION_EXTERNAL));
        }
        return name;
    }

    /** A 1-D int64 constant. */
    String ints(long... values) {
        ByteBuffer b = buffer(values.length * Long.BYTES);
        for (long v : values) {
            b.putLong(v);
        }
        return constant("i" + java.util.Arrays.toString(values), Onnx.INT64, new long[] {values.length}, b);
    }

    /** A 0-D int64 constant. */
    String scalar(long value) {
        return constant("s" + value, Onnx.INT64, new long[0], buffer(Long.BYTES).putLong(value));
    }

    /** A 0-D float constant. */
    String scalar(float value) {
        return constant("f" + Float.floatToRawIntBits(value), Onnx.FLOAT, new long[0],
                buffer(Float.BYTES).putFloat(value));
    }

    /** A 2-D bool constant. */
    String bools(boolean[][] values) {
        int rows = values.length;
        int cols = values[0].length;
        ByteBuffer b = buffer(rows * cols);
        StringBuilder key = new StringBuilder("b");
        for (boolean[] row : values) {
            for (boolean v : row) {
                b.put((byte) (v ? 1 : 0));
                key.append(v ? '1' : '0');
            }
            key.append('/');
        }
        return constant(key.toString(), Onnx.BOOL, new long[] {rows, cols}, b);
    }

    private String constant(String key, int type, long[] dims, ByteBuffer data) {
        return constants.computeIfAbsent(key, k -> {
            String name = "const_" + constants.size();
            initializers.add(new ProtoWriter()
                    .varints(Onnx.TENSOR_DIMS, dims)
                    .varint(Onnx.TENSOR_DATA_TYPE, type)
                    .string(Onnx.TENSOR_NAME, name)
                    .bytes(Onnx.TENSOR_RAW_DATA, data.array()));
            return name;
        });
    }

    private static ByteBuffer buffer(int bytes) {
        return ByteBuffer.allocate(bytes).order(ByteOrder.LITTLE_ENDIAN);
    }

    /**
     * Declares a graph input; each dimension is a Long (fixed) or a String (a named dynamic
     * axis, e.g. "batch").
     */
    String input(String name, int elemType, Object... dims) {
        inputs.add(valueInfo(name, elemType, dims));
        return name;
    }

    void output(String name, int elemType, Object... dims) {
        outputs.add(valueInfo(name, elemType, dims));
    }

    private static ProtoWriter valueInfo(String name, int elemType, Object... dims) {
        ProtoWriter shape = new ProtoWriter();
        for (Object d : dims) {
            ProtoWriter dim = new ProtoWriter();
            if (d instanceof String param) {
                dim.string(Onnx.DIM_PARAM, param);
            } else {
                dim.varint(Onnx.DIM_VALUE, ((Number) d).longValue());
            }
            shape.message(Onnx.SHAPE_DIM, dim);
        }
        ProtoWriter tensor = new ProtoWriter().varint(Onnx.TENSOR_TYPE_ELEM_TYPE, elemType)
                .message(Onnx.TENSOR_TYPE_SHAPE, shape);
        return new ProtoWriter().string(Onnx.VALUE_NAME, name)
                .message(Onnx.VALUE_TYPE, new ProtoWriter().message(Onnx.TYPE_TENSOR, tensor));
    }

    /** The finished model: IR 8, the default domain at opset 17, the given metadata. */
    byte[] model(String graphName, String doc, Map<String, String> metadata) {
        ProtoWriter graph = new ProtoWriter();
        nodes.forEach(n -> graph.message(Onnx.GRAPH_NODE, n));
        graph.string(Onnx.GRAPH_NAME, graphName);
        initializers.forEach(i -> graph.message(Onnx.GRAPH_INITIALIZER, i));
        inputs.forEach(i -> graph.message(Onnx.GRAPH_INPUT, i));
        outputs.forEach(o -> graph.message(Onnx.GRAPH_OUTPUT, o));
        ProtoWriter model = new ProtoWriter()
                .varint(Onnx.MODEL_IR_VERSION, Onnx.IR_VERSION)
                .string(Onnx.MODEL_PRODUCER_NAME, "mom-stream")
                .string(Onnx.MODEL_PRODUCER_VERSION, "0.1.0")
                .string(Onnx.MODEL_DOC_STRING, doc)
                .message(Onnx.MODEL_GRAPH, graph)
                .message(Onnx.MODEL_OPSET_IMPORT, new ProtoWriter().string(Onnx.OPSET_DOMAIN, "")
                        .varint(Onnx.OPSET_VERSION, Onnx.OPSET));
        metadata.forEach((k, v) -> model.message(Onnx.MODEL_METADATA_PROPS, entry(k, v)));
        return model.toByteArray();
    }

    /** Canonical names of the parameters the graph uses, in first-use order. */
    Set<String> weightsUsed() {
        return weightsUsed;
    }

    private static ProtoWriter entry(String key, String value) {
        return new ProtoWriter().string(Onnx.ENTRY_KEY, key).string(Onnx.ENTRY_VALUE, value);
    }
}
