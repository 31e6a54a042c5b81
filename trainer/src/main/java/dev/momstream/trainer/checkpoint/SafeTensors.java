package dev.momstream.trainer.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.engine.TorchRuntime;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format: an 8-byte little-endian header length, a JSON header mapping each name to its dtype,
 * shape and byte range, then the raw little-endian tensors. Chosen so that checkpoints open in
 * Python (safetensors, PyTorch) without any code of ours.
 */
public final class SafeTensors {
    private SafeTensors() {}

    /** Name, type, shape and byte range (relative to the data section) of one stored tensor. */
    public record Entry(String name, DataType dtype, Shape shape, long begin, long end) {}

    /** Writes {@code tensors} in order and returns the file's SHA-256, computed while writing. */
    public static String write(Path file, Map<String, NDArray> tensors, Map<String, String> metadata)
            throws IOException {
        ObjectNode header = Json.MAPPER.createObjectNode();
        if (!metadata.isEmpty()) {
            ObjectNode meta = header.putObject("__metadata__");
            metadata.forEach(meta::put);
        }
        long offset = 0;
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            long bytes = a.size() * a.getDataType().getNumOfBytes();
            ObjectNode t = header.putObject(e.getKey());
            t.put("dtype", code(a.getDataType(), e.getKey()));
            long[] shape = a.getShape().getShape();
            var arr = t.putArray("shape");
            for (long s : shape) {
                arr.add(s);
            }
            t.putArray("data_offsets").add(offset).add(offset + bytes);
            offset += bytes;
        }
        byte[] json = Json.MAPPER.writer().without(SerializationFeature.INDENT_OUTPUT).writeValueAsBytes(header);
        int padded = (json.length + 7) / 8 * 8; // the format aligns the data section to 8 bytes
        ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(json);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        head.flip();
        MessageDigest digest = Manifest.newDigest();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                StandardOpenOption.WRITE);
                NDManager host = TorchRuntime.engine().newBaseManager(Device.cpu())) {
            writeFully(ch, head, digest);
            for (NDArray a : tensors.values()) {
                writeFully(ch, hostBytes(a, host), digest);
            }
            ch.force(true);
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * The tensor's bytes without copying when it is in host memory (a direct view), else from a
     * host copy owned by {@code host}: never a copy left in the tensor's own long-lived manager.
     */
    private static ByteBuffer hostBytes(NDArray a, NDManager host) {
        NDArray cpu = a;
        if (!a.getDevice().equals(Device.cpu())) {
            cpu = a.toDevice(Device.cpu(), true);
            cpu.attach(host);
        }
        return cpu.toByteBuffer(true).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** The header of {@code file}, in stored order; throws if it is not valid safetensors. */
    public static Map<String, Entry> header(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return header(ch, file);
        }
    }

    /** Every tensor of {@code file}, created in {@code manager}. */
    public static Map<String, NDArray> read(Path file, NDManager manager) throws IOException {
        Map<String, NDArray> out = new LinkedHashMap<>();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            Map<String, Entry> entries = header(ch, file);
            long dataStart = 8 + headerLength(ch, file);
            for (Entry e : entries.values()) {
                ByteBuffer buf = ByteBuffer.allocateDirect(Math.toIntExact(e.end() - e.begin()))
                        .order(ByteOrder.LITTLE_ENDIAN);
                long pos = dataStart + e.begin();
                while (buf.hasRemaining()) {
                    int n = ch.read(buf, pos);
                    if (n < 0) {
                        throw new IOException(file + ": tensor " + e.name() + " is truncated");
                    }
                    pos += n;
                }
                buf.flip();
                // create() may wrap the direct buffer without copying, and later same-device,
                // same-type conversions alias that memory without keeping the buffer reachable:
                // clone so that the tensor owns its memory before the buffer can be collected.
                try (NDArray wrapped = manager.create(buf, e.shape(), e.dtype())) {
                    out.put(e.name(), wrapped.duplicate());
                }
            }
        }
        return out;
    }

    private static Map<String, Entry> header(FileChannel ch, Path file) throws IOException {
        long length = headerLength(ch, file);
        ByteBuffer json = ByteBuffer.allocate((int) length);
        readFully(ch, json, 8, file);
        JsonNode root;
        try {
            root = Json.MAPPER.readTree(new String(json.array(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IOException(file + ": safetensors header is not valid JSON", e);
        }
        long dataSize = ch.size() - 8 - length;
        Map<String, Entry> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            if (f.getKey().equals("__metadata__")) {
                continue;
            }
            JsonNode t = f.getValue();
            DataType dtype = dtype(t.path("dtype").asText(), file);
            long[] shape = new long[t.path("shape").size()];
            long elements = 1;
            for (int i = 0; i < shape.length; i++) {
                shape[i] = t.path("shape").get(i).asLong();
                elements *= shape[i];
            }
            long begin = t.path("data_offsets").path(0).asLong(-1);
            long end = t.path("data_offsets").path(1).asLong(-1);
            if (begin < 0 || end > dataSize || end - begin != elements * dtype.getNumOfBytes()) {
                throw new IOException(file + ": tensor " + f.getKey() + " has an invalid byte range");
            }
            out.put(f.getKey(), new Entry(f.getKey(), dtype, new Shape(shape), begin, end));
        }
        return out;
    }

    private static long headerLength(FileChannel ch, Path file) throws IOException {
        ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
        readFully(ch, len, 0, file);
        long length = len.getLong(0);
        if (length <= 0 || length > ch.size() - 8 || length > 100_000_000) {
            throw new IOException(file + ": not a safetensors file (header length " + length + ")");
        }
        return length;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, long pos, Path file) throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new IOException(file + ": unexpected end of file");
            }
            pos += n;
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, MessageDigest digest) throws IOException {
        digest.update(buf.duplicate());
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    private static String code(DataType t, String name) {
        return switch (t) {
            case FLOAT32 -> "F32";
            case FLOAT64 -> "F64";
            case FLOAT16 -> "F16";
            case BFLOAT16 -> "BF16";
            case INT64 -> "I64";
            case INT32 -> "I32";
            default -> throw new IllegalArgumentException("cannot store " + name + " of type " + t);
        };
    }

    private static DataType dtype(String code, Path file) throws IOException {
        return switch (code) {
            case "F32" -> DataType.FLOAT32;
            case "F64" -> DataType.FLOAT64;
            case "F16" -> DataType.FLOAT16;
            case "BF16" -> DataType.BFLOAT16;
            case "I64" -> DataType.INT64;
            case "I32" -> DataType.INT32;
            default -> throw new IOException(file + ": unsupported safetensors dtype '" + code + "'");
        };
    }
}
