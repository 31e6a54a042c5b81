package dev.momstream.trainer.model;

import java.util.Arrays;

/**
 * One named parameter of the canonical layout (docs/MODEL.md §10).
 *
 * @param name canonical name, shared by checkpoints, ONNX initializers and tooling
 * @param shape PyTorch layout: Linear weights {@code [out, in]}
 * @param init how a fresh model fills it
 */
public record ParamSpec(String name, long[] shape, Init init) {

    /** Initial values, GPT-2 style. */
    public enum Init {
        /** Normal with std 0.02. */
        NORMAL,
        /** Residual output projections: std 0.02 / sqrt(2 * depth), as GPT-2. */
        NORMAL_RESIDUAL,
        ZEROS,
        ONES
    }

    public long size() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** Weight decay applies to matrices (embeddings and Linear weights), never to biases or norms. */
    public boolean decays() {
        return shape.length >= 2;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParamSpec p && p.name.equals(name) && Arrays.equals(p.shape, shape)
                && p.init == init;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape);
    }
}
