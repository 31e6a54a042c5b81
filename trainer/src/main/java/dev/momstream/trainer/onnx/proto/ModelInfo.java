package dev.momstream.trainer.onnx.proto;

import dev.momstream.trainer.onnx.proto.ProtoReader.MalformedProtoException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a loader checks in an ONNX model before handing it to ONNX Runtime: versions, metadata,
 * the graph's inputs and outputs, and every initializer's name, type, shape and storage.
 */
public record ModelInfo(long irVersion, Map<String, Long> opsets, Map<String, String> metadata,
        String graphName, List<String> inputs, List<String> outputs, List<Initializer> initializers) {

    /**
     * One initializer.
     *
     * @param location external data file, or null when the values are inside the model
     * @param offset byte offset in the external file (0 when inside)
     * @param length bytes of data (external or raw)
     */
    public record Initializer(String name, int dataType, long[] dims, String location, long offset,
            long length) {}

    public static ModelInfo parse(byte[] model) throws MalformedProtoException {
        long ir = -1;
        Map<String, Long> opsets = new LinkedHashMap<>();
        Map<String, String> metadata = new LinkedHashMap<>();
        Graph graph = null;
        ProtoReader r = new ProtoReader(model);
        while (r.next()) {
            switch (r.field()) {
                case Onnx.MODEL_IR_VERSION -> ir = r.varint();
                case Onnx.MODEL_OPSET_IMPORT -> opset(r.message(), opsets);
                case Onnx.MODEL_METADATA_PROPS -> {
                    String[] kv = entry(r.message());
                    metadata.put(kv[0], kv[1]);
                }
                case Onnx.MODEL_GRAPH -> graph = graph(r.message());
                default -> r.skip();
            }
        }
        if (ir < 0 || graph == null) {
            throw new MalformedProtoException("not an ONNX model (no IR version or no graph)");
        }
        return new ModelInfo(ir, opsets, metadata, graph.name, graph.inputs, graph.outputs, graph.initializers);
    }

    private record Graph(String name, List<String> inputs, List<String> outputs, List<Initializer> initializers) {}

    private static Graph graph(ProtoReader r) throws MalformedProtoException {
        String name = "";
        List<String> inputs = new ArrayList<>();
        List<String> outputs = new ArrayList<>();
        List<Initializer> initializers = new ArrayList<>();
        while (r.next()) {
            switch (r.field()) {
                case Onnx.GRAPH_NAME -> name = r.string();
                case Onnx.GRAPH_INPUT -> inputs.add(valueName(r.message()));
                case Onnx.GRAPH_OUTPUT -> outputs.add(valueName(r.message()));
                case Onnx.GRAPH_INITIALIZER -> initializers.add(tensor(r.message()));
                default -> r.skip();
            }
        }
        return new Graph(name, inputs, outputs, initializers);
    }

    private static Initializer tensor(ProtoReader r) throws MalformedProtoException {
        String name = null;
        int type = 0;
        List<Long> dims = new ArrayList<>();
        long raw = 0;
        Map<String, String> external = new LinkedHashMap<>();
        while (r.next()) {
            switch (r.field()) {
                case Onnx.TENSOR_NAME -> name = r.string();
                case Onnx.TENSOR_DATA_TYPE -> type = (int) r.varint();
                case Onnx.TENSOR_DIMS -> r.int64s(dims::add);
                case Onnx.TENSOR_RAW_DATA -> raw = r.bytes().length;
                case Onnx.TENSOR_EXTERNAL_DATA -> {
                    String[] kv = entry(r.message());
                    external.put(kv[0], kv[1]);
                }
                default -> r.skip();
            }
        }
        if (name == null) {
            throw new MalformedProtoException("an initializer has no name");
        }
        long[] d = dims.stream().mapToLong(Long::longValue).toArray();
        if (external.isEmpty()) {
            return new Initializer(name, type, d, null, 0, raw);
        }
        try {
            return new Initializer(name, type, d, external.get("location"),
                    Long.parseLong(external.getOrDefault("offset", "0")),
                    Long.parseLong(external.getOrDefault("length", "-1")));
        } catch (NumberFormatException e) {
            throw new MalformedProtoException("initializer " + name + " has a malformed external offset or length");
        }
    }

    private static String valueName(ProtoReader r) throws MalformedProtoException {
        String name = null;
        while (r.next()) {
            if (r.field() == Onnx.VALUE_NAME) {
                name = r.string();
            } else {
                r.skip();
            }
        }
        if (name == null) {
            throw new MalformedProtoException("a graph input or output has no name");
        }
        return name;
    }

    private static void opset(ProtoReader r, Map<String, Long> out) throws MalformedProtoException {
        String domain = "";
        long version = -1;
        while (r.next()) {
            switch (r.field()) {
                case Onnx.OPSET_DOMAIN -> domain = r.string();
                case Onnx.OPSET_VERSION -> version = r.varint();
                default -> r.skip();
            }
        }
        out.put(domain, version);
    }

    private static String[] entry(ProtoReader r) throws MalformedProtoException {
        String key = "";
        String value = "";
        while (r.next()) {
            switch (r.field()) {
                case Onnx.ENTRY_KEY -> key = r.string();
                case Onnx.ENTRY_VALUE -> value = r.string();
                default -> r.skip();
            }
        }
        return new String[] {key, value};
    }
}
