package dev.momstream.trainer.engine;

import ai.djl.pytorch.jni.JniUtils;

/**
 * Turns libtorch gradient recording off for a scope. Grad mode is thread-local and only the
 * engine-initialising thread starts with it off, so optimizer updates and evaluation on any
 * other thread (Flink's task threads) must switch it off themselves.
 */
public final class NoGrad implements AutoCloseable {
    private final boolean previous;

    public NoGrad() {
        previous = JniUtils.isGradMode();
        JniUtils.setGradMode(false);
    }

    @Override
    public void close() {
        JniUtils.setGradMode(previous);
    }
}
