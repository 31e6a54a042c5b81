package dev.momstream.trainer.onnx;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.momstream.trainer.config.MomConfig;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cached decoding of a batch of sequences that advance together: each {@link #append} runs the
 * {@code decode} graph on the new tokens only, with the keys and values of every earlier
 * position of every attention computation taken from the cache. The cache stays in ONNX Runtime's
 * memory: each step's outputs are the next step's inputs, never copied through Java. Not
 * thread-safe; one decoder per generation.
 */
public final class Decoder implements AutoCloseable {
    private final OnnxModel model;
    private final OrtSession session;
    private final int batch;
    private final List<String> slots;
    /** The current cache by input name; owned by {@link #result} after the first step. */
    private final Map<String, OnnxTensor> cache = new HashMap<>();
    private final List<OnnxTensor> empty = new ArrayList<>();
    private OrtSession.Result result;
    private int length;

    Decoder(OnnxModel model, OrtSession session, int batch) {
        if (batch < 1) {
            throw new IllegalArgumentException("batch=" + batch + " must be at least 1");
        }
        this.model = model;
        this.session = session;
        this.batch = batch;
        MomConfig c = model.config();
        this.slots = CacheLayout.slots(c);
        long[] shape = {batch, c.heads(), 0, c.headDim()};
        try {
            for (String s : slots) {
                for (String name : new String[] {CacheLayout.pastKey(s), CacheLayout.pastValue(s)}) {
                    OnnxTensor t = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), FloatBuffer.allocate(0), shape);
                    empty.add(t);
                    cache.put(name, t);
                }
            }
        } catch (OrtException e) {
            close();
            throw new IllegalStateException("cannot create an empty key/value cache: " + e.getMessage(), e);
        }
    }

    /** Positions already in the cache. */
    public int length() {
        return length;
    }

    public int batch() {
        return batch;
    }

    /**
     * Appends {@code count} tokens to every sequence ({@code ids} row-major [batch, count]) and
     * returns the next-token logits after the last of them, row-major [batch, vocab].
     */
    public float[] append(long[] ids, int count) {
        if (ids.length != (long) batch * count) {
            throw new IllegalArgumentException("expected " + batch + " x " + count + " ids, got " + ids.length);
        }
        model.checkLength(length + count);
        model.checkTokens(ids, false);
        OrtSession.Result next;
        try (OnnxTensor in = OnnxModel.ids(ids, batch, count)) {
            Map<String, OnnxTensor> inputs = new HashMap<>(cache);
            inputs.put(OnnxExport.INPUT_IDS, in);
            next = session.run(inputs);
        } catch (OrtException e) {
            throw new IllegalStateException("ONNX Runtime failed to decode with "
                    + model.directory().resolve(OnnxExport.DECODE) + ": " + e.getMessage(), e);
        }
        float[] logits = OnnxModel.floats(next, OnnxExport.LOGITS);
        for (String s : slots) {
            cache.put(CacheLayout.pastKey(s), tensor(next, CacheLayout.presentKey(s)));
            cache.put(CacheLayout.pastValue(s), tensor(next, CacheLayout.presentValue(s)));
        }
        releaseCache();
        result = next;
        length += count;
        return logits;
    }

    private static OnnxTensor tensor(OrtSession.Result r, String name) {
        OnnxValue v = r.get(name).orElseThrow(() -> new IllegalStateException("decode graph has no output " + name));
        return (OnnxTensor) v;
    }

    /** Frees the cache of the previous step (or the initial empty one). */
    private void releaseCache() {
        if (result != null) {
            result.close();
            result = null;
        }
        empty.forEach(OnnxTensor::close);
        empty.clear();
    }

    @Override
    public void close() {
        releaseCache();
        cache.clear();
    }
}
