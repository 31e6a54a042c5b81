package dev.momstream.trainer.export;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.Fixtures;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.model.RoutingPolicy;
import dev.momstream.trainer.model.TokenBatch;
import dev.momstream.trainer.onnx.InferenceOptions;
import dev.momstream.trainer.onnx.OnnxModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;
import java.util.function.ToDoubleFunction;

/** Test helpers: export a model in memory and load it back; DJL logits to compare with. */
final class Exports {
    private Exports() {}

    /** One intra-op thread: the tests share a small machine. */
    static final InferenceOptions OPTIONS = InferenceOptions.defaults().withThreads(1);

    /**
     * A float32 model with random weights at scales that keep activations of order one and
     * make routing decisive: weights N(0, 1/in), biases and LayerNorm offsets N(0, 0.1^2),
     * gains 1 + N(0, 0.1^2), embeddings N(0, 0.5^2), router output layers at a fifth of that
     * scale. Routing is a discontinuous function: where two classes' probabilities agree to
     * float32 rounding, two correct implementations may pick differently, and with unweighted
     * QKV that moves logits visibly. At the training initialisation (std 0.02) probabilities
     * agree to about 1e-8; with router logits much larger than tau the losing classes
     * underflow towards zero, where exp implementations differ. These scales avoid both, so
     * a difference means a bug; exact ties are tested on their own.
     */
    static MomModel randomModel(MomConfig c, long seed) {
        return randomModel(c, seed, spec -> 1.0);
    }

    /** As {@link #randomModel(MomConfig, long)}, each tensor's values multiplied by {@code scale}. */
    static MomModel randomModel(MomConfig c, long seed, ToDoubleFunction<ParamSpec> scale) {
        Params p = Params.of(c, Device.cpu(), DataType.FLOAT32, cpu -> spec -> {
            Random r = new Random(seed * 31 + spec.name().hashCode());
            float[] v = new float[Math.toIntExact(spec.size())];
            String name = spec.name();
            double std = name.equals("wte") || name.equals("wpe") ? 0.5
                    : name.endsWith(".weight") ? 1 / Math.sqrt(spec.shape()[1]) : 0.1;
            if (name.contains(".router.") && (name.contains(".out.") || name.contains(".fc2."))) {
                std *= 0.2; // router logits of order tau: decisive, yet far from underflow
            }
            double mean = name.endsWith(".gamma") ? 1 : 0;
            double s = scale.applyAsDouble(spec);
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) (s * (mean + std * r.nextGaussian()));
            }
            // create() may wrap a direct buffer that nothing keeps alive: own the memory
            return cpu.create(v, new Shape(spec.shape())).duplicate();
        });
        return new MomModel(c, p);
    }

    /** Overwrites a parameter's values in place. */
    static void overwrite(MomModel model, String name, float[] values) {
        try (NoGrad ignored = new NoGrad()) {
            model.params().get(name).set(java.nio.FloatBuffer.wrap(values));
        }
    }

    static OnnxModel exportAndLoad(MomModel model, Path dir) throws IOException {
        return OnnxModel.load(OnnxExporter.export(model, OnnxExporter.Source.untrained(), dir), OPTIONS);
    }

    /** DJL's logits [rows * cols * vocab] in inference mode. */
    static double[] djlLogits(MomModel model, TokenBatch ids) {
        try (NoGrad ignored = new NoGrad(); NDManager m = model.params().newStepManager()) {
            return Fixtures.values(model.forward(m, ids, false, RoutingPolicy.TOP_K).logits());
        }
    }

    static double maxAbsDiff(double[] a, float[] b, int from, int to, int bFrom) {
        double m = 0;
        for (int i = from; i < to; i++) {
            m = Math.max(m, Math.abs(a[i] - b[bFrom + i - from]));
        }
        return m;
    }

    static double maxAbsDiff(float[] a, int aFrom, float[] b, int bFrom, int n) {
        double m = 0;
        for (int i = 0; i < n; i++) {
            m = Math.max(m, Math.abs(a[aFrom + i] - b[bFrom + i]));
        }
        return m;
    }
}
