package dev.momstream.trainer.engine;

import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collection;

/**
 * The gradients libtorch's autograd records on parameters. DJL's public API cannot zero a
 * gradient in place and throws where none was recorded; a routed model has parameters that no
 * token reached in a step, so these go to libtorch directly.
 */
public final class Gradients {
    private Gradients() {}

    /** Zeroes the recorded gradient of every array (keeping its buffer) before the next backward pass. */
    public static void zero(Collection<NDArray> arrays) {
        for (NDArray a : arrays) {
            JniUtils.zeroGrad((PtNDArray) a);
        }
    }

    /**
     * The gradient recorded on {@code array}, or null when no backward pass has reached it. Each
     * call returns a new handle, which the caller owns: close it, or attach it to a manager.
     */
    public static NDArray of(NDArray array) {
        return JniUtils.getGradient((PtNDArray) array);
    }
}
