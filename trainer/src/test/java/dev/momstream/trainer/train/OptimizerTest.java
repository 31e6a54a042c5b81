package dev.momstream.trainer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.RouterKind;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.model.Fixtures;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptimizerTest {

    @Test
    void cosineScheduleWarmsUpThenDecaysToTheFloor() {
        TrainConfig c = TrainConfig.defaults().withTotalSteps(1100);
        LrSchedule s = new LrSchedule(c);
        assertEquals(1e-5, s.at(0), 1e-15);
        assertEquals(1e-3, s.at(99), 1e-15);
        assertEquals(0.55e-3, s.at(600), 1e-12); // halfway: floor + (peak - floor) / 2
        assertEquals(1e-4, s.at(1100), 1e-15);
        assertEquals(1e-4, s.at(5000), 1e-15);
    }

    @Test
    void constantScheduleAnnealsLinearlyAtTheEnd() {
        TrainConfig c = TrainConfig.defaults().toBuilder().lr(2e-3).minLrRatio(0).warmupSteps(10)
                .schedule(TrainConfig.Schedule.CONSTANT).totalSteps(1000).annealSteps(100).build();
        LrSchedule s = new LrSchedule(c);
        assertEquals(2e-3, s.at(500), 0);
        assertEquals(2e-3, s.at(899), 0);
        assertEquals(1e-3, s.at(950), 1e-15);
        assertEquals(0, s.at(1000), 1e-15);
        LrSchedule open = new LrSchedule(c.withTotalSteps(0));
        assertEquals(2e-3, open.at(1_000_000), 0);
    }

    /** Three AdamW steps on two tensors against the update rule computed in Java doubles. */
    @Test
    void adamWMatchesItsFormulaStepByStep() {
        TrainConfig c = TrainConfig.defaults().toBuilder().lr(1e-2).warmupSteps(0).build();
        MomConfig mc = Fixtures.smallMom(1, 1, false, RouterKind.GRU);
        try (Params params = Params.initialize(mc, Device.cpu(), DataType.FLOAT64, 1);
                AdamW opt = new AdamW(params, c);
                NoGrad ignored = new NoGrad()) {
            String matrix = "bottom.0.attn.proj.weight";
            String bias = "bottom.0.attn.proj.bias";
            double[][] p = {Fixtures.values(params.get(matrix)), Fixtures.values(params.get(bias))};
            double[][] m = {new double[p[0].length], new double[p[1].length]};
            double[][] v = {new double[p[0].length], new double[p[1].length]};
            double[] lrs = {1e-2, 5e-3, 2e-3};
            double[] scales = {1.0, 0.5, 1.0};
            for (int t = 1; t <= 3; t++) {
                double[][] g = new double[2][];
                try (NDManager step = params.newStepManager()) {
                    Map<String, NDArray> grads = new HashMap<>();
                    for (int i = 0; i < 2; i++) {
                        g[i] = new double[p[i].length];
                        for (int j = 0; j < g[i].length; j++) {
                            g[i][j] = Math.sin(j + 10 * t) * 0.3;
                        }
                        NDArray a = step.create(g[i]).reshape(params.get(i == 0 ? matrix : bias).getShape());
                        grads.put(i == 0 ? matrix : bias, a);
                    }
                    opt.update(grads, lrs[t - 1], scales[t - 1], step);
                }
                for (int i = 0; i < 2; i++) {
                    boolean decays = i == 0;
                    for (int j = 0; j < p[i].length; j++) {
                        double gj = g[i][j] * scales[t - 1];
                        m[i][j] = 0.9 * m[i][j] + 0.1 * gj;
                        v[i][j] = 0.95 * v[i][j] + 0.05 * gj * gj;
                        if (decays) {
                            p[i][j] *= 1 - lrs[t - 1] * 0.1;
                        }
                        double mh = m[i][j] / (1 - Math.pow(0.9, t));
                        double vh = v[i][j] / (1 - Math.pow(0.95, t));
                        p[i][j] -= lrs[t - 1] * mh / (Math.sqrt(vh) + 1e-5);
                    }
                }
                assertEquals(0, Fixtures.maxAbsDiff(p[0], Fixtures.values(params.get(matrix))), 1e-14);
                assertEquals(0, Fixtures.maxAbsDiff(p[1], Fixtures.values(params.get(bias))), 1e-14);
            }
            assertEquals(3, opt.updates());
        }
    }
}
