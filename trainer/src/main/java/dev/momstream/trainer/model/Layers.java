package dev.momstream.trainer.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Activation;
import ai.djl.nn.core.Linear;
import ai.djl.nn.norm.Dropout;
import ai.djl.nn.norm.LayerNorm;
import dev.momstream.trainer.config.MomConfig;

/**
 * The GPT-2 building blocks as functions of (input, named parameters). Every op keeps the
 * step's tensor as its receiver or first argument, so results land in the step's manager and
 * never in the long-lived parameter manager.
 */
final class Layers {
    /** sqrt(2/pi) and the cubic coefficient of GPT-2's tanh-approximated GELU. */
    private static final double GELU_C = Math.sqrt(2.0 / Math.PI);
    private static final double GELU_A = 0.044715;

    private Layers() {}

    static NDArray layerNorm(NDArray x, Params p, String prefix) {
        return LayerNorm.layerNorm(x, new Shape(x.getShape().get(x.getShape().dimension() - 1)),
                p.get(prefix + ".gamma"), p.get(prefix + ".beta"), (float) MomConfig.LN_EPS)
                .singletonOrThrow();
    }

    static NDArray linear(NDArray x, Params p, String prefix) {
        return Linear.linear(x, p.get(prefix + ".weight"), p.get(prefix + ".bias")).singletonOrThrow();
    }

    /**
     * GELU, tanh approximation: 0.5 x (1 + tanh(c (x + a x^3))), written as
     * x * sigmoid(2c x (1 + a x^2)) (the same function, 0.5(1 + tanh z) = sigmoid(2z)) to save ops.
     */
    static NDArray gelu(Pass pass, NDArray x) {
        NDArray inner = x.mul(x).mul(pass.scalar(GELU_A)).add(pass.scalar(1.0));
        return x.mul(Activation.sigmoid(x.mul(inner).mul(pass.scalar(2 * GELU_C))));
    }

    /** Linear(d, 4d) -> GELU -> Linear(4d, d), on already-normalised input. */
    static NDArray ffn(Pass pass, NDArray xNorm, Params p, String fc, String proj) {
        return linear(gelu(pass, linear(xNorm, p, fc)), p, proj);
    }

    static NDArray dropout(Pass pass, NDArray x) {
        return pass.dropoutActive() ? Dropout.dropout(x, (float) pass.dropout, true).singletonOrThrow() : x;
    }

    /**
     * Causal multi-head attention over rows of {@code qkv} [N, 3d] (N = batch * t, q|k|v along
     * the last axis, head h owning columns h*dh..(h+1)*dh-1 of each); returns [N, d].
     */
    static NDArray causalAttention(Pass pass, NDArray qkv, int batch, int t, int heads) {
        long d = qkv.getShape().get(1) / 3;
        long dh = d / heads;
        NDArray split = qkv.reshape(batch, t, 3, heads, dh).transpose(2, 0, 3, 1, 4);
        NDArray q = split.get(0).mul(pass.scalar(1.0 / Math.sqrt(dh)));
        NDArray k = split.get(1);
        NDArray v = split.get(2);
        NDArray att = q.matMul(k.transpose(0, 1, 3, 2)).add(pass.causalMask(t)).softmax(-1);
        att = dropout(pass, att);
        return att.matMul(v).transpose(0, 2, 1, 3).reshape(batch * (long) t, d);
    }
}
