package dev.momstream.trainer.onnx;

import dev.momstream.trainer.model.ParamLayout;
import dev.momstream.trainer.model.ParamSpec;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each parameter of a configuration lives in an export's external-data file: float32,
 * little-endian, in canonical order (spec §10), each tensor starting on a page boundary (so
 * that ONNX Runtime can map the file instead of copying it). The exporter writes this layout
 * and the loader checks every initializer of the graphs against it.
 */
public final class WeightsLayout {
    /** Page size: tensors start at multiples of it. */
    public static final int ALIGNMENT = 4096;

    /** One tensor's place in the file. */
    public record Entry(String name, long[] dims, long offset, long length) {}

    private final String file;
    private final Map<String, Entry> entries;
    private final long size;

    private WeightsLayout(String file, Map<String, Entry> entries, long size) {
        this.file = file;
        this.entries = Collections.unmodifiableMap(entries);
        this.size = size;
    }

    public static WeightsLayout of(ParamLayout layout, String file) {
        Map<String, Entry> entries = new LinkedHashMap<>();
        long offset = 0;
        for (ParamSpec s : layout.specs()) {
            long length = s.size() * Float.BYTES;
            entries.put(s.name(), new Entry(s.name(), s.shape().clone(), offset, length));
            offset = align(offset + length);
        }
        return new WeightsLayout(file, entries, offset);
    }

    private static long align(long offset) {
        return (offset + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    /** The external-data file's name, relative to the model files. */
    public String file() {
        return file;
    }

    public Entry get(String name) {
        Entry e = entries.get(name);
        if (e == null) {
            throw new IllegalArgumentException("no parameter named '" + name + "'");
        }
        return e;
    }

    public List<Entry> entries() {
        return new ArrayList<>(entries.values());
    }

    public boolean contains(String name) {
        return entries.containsKey(name);
    }

    /** Bytes of the whole file (the last tensor padded to the alignment). */
    public long size() {
        return size;
    }
}
