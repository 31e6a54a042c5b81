package dev.momstream.trainer.model;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import java.util.Random;

/** Small configurations and inputs shared by the numeric tests. */
public final class Fixtures {
    private Fixtures() {}

    /** A small MoM: vocabulary 61, context 8, d 16, 2 heads, B=1, C=2, T=1, anchors. */
    public static MomConfig smallMom(int k, int h, boolean skip, RouterKind router) {
        return MomConfig.defaults().toBuilder()
                .vocabSize(61)
                .width(16, 2, 8)
                .layout(1, 2, 1, true)
                .pools(3, 3, k, h, skip)
                .router(router, 8)
                .build();
    }

    public static MomModel model(MomConfig c, DataType dtype, long seed) {
        return MomModel.create(c, Device.cpu(), dtype, seed);
    }

    public static TokenBatch randomTokens(int rows, int cols, int vocab, long seed) {
        Random r = new Random(seed);
        long[] ids = new long[rows * cols];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = r.nextInt(vocab);
        }
        return new TokenBatch(ids, rows, cols);
    }

    public static double[] values(NDArray a) {
        return a.toType(DataType.FLOAT64, false).toDoubleArray();
    }

    public static double maxAbsDiff(double[] a, double[] b) {
        if (a.length != b.length) {
            throw new AssertionError("length " + a.length + " vs " + b.length);
        }
        double m = 0;
        for (int i = 0; i < a.length; i++) {
            m = Math.max(m, Math.abs(a[i] - b[i]));
        }
        return m;
    }
}
