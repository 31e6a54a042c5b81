package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.norm.LayerNorm;
import dev.momstream.trainer.config.MomConfig;

/**
 * The per-module affine map of a pool, {@code Linear_m(LN_m(x))} (LN optional), in both
 * execution forms of {@link Dispatch}: on one module's rows, or on all modules' padded rows
 * with the module weights stacked (stacked once per forward and chunk, shared by the rounds).
 *
 * @param ln LayerNorm prefix with {@code %d} for the module, or null
 * @param linear Linear prefix with {@code %d} for the module
 */
record ModuleLinear(Pass pass, Params params, int modules, String ln, String linear) {

    /** On the rows of module {@code m}: [rows, in] -> [rows, out]. */
    NDArray one(int m, NDArray rows) {
        NDArray x = ln == null ? rows : Layers.layerNorm(rows, params, ln.formatted(m));
        return Layers.linear(x, params, linear.formatted(m));
    }

    /** On every module's padded rows: [modules, maxRows, in] -> [modules, maxRows, out]. */
    NDArray stacked(NDArray rows) {
        NDArray x = rows;
        if (ln != null) {
            long in = rows.getShape().get(2);
            x = LayerNorm.layerNorm(rows, new Shape(in), pass.constant(1.0, in), pass.constant(0.0, in),
                    (float) MomConfig.LN_EPS).singletonOrThrow()
                    .mul(stack(ln + ".gamma").expandDims(1)).add(stack(ln + ".beta").expandDims(1));
        }
        return x.batchMatMul(stack(linear + ".weight").transpose(0, 2, 1))
                .add(stack(linear + ".bias").expandDims(1));
    }

    private NDArray stack(String pattern) {
        return pass.stacks.computeIfAbsent(pattern, p -> {
            NDList parts = new NDList(modules);
            for (int m = 0; m < modules; m++) {
                parts.add(params.get(p.formatted(m)));
            }
            // the stack's receiver is a parameter: move the copy into the pass's manager
            NDArray s = NDArrays.stack(parts);
            s.attach(pass.manager);
            return s;
        });
    }
}
