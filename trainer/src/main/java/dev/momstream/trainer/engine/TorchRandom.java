package dev.momstream.trainer.engine;

import ai.djl.pytorch.jni.JniUtils;

/**
 * libtorch's default random generator, which dropout and {@code randomNormal} draw from. DJL's
 * {@code Engine.setRandomSeed} takes an int; seeds here are full 64-bit values.
 */
public final class TorchRandom {
    private TorchRandom() {}

    public static void seed(long seed) {
        JniUtils.setSeed(seed);
    }
}
