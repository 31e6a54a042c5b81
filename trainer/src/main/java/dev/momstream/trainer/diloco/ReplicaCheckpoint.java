package dev.momstream.trainer.diloco;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.train.TrainState;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * One replica's checkpoint: the trainer checkpoint of its own weights, AdamW moments and counters,
 * plus {@value #OUTER} with the global weights and the outer momentum it holds, under one
 * manifest. Also the change of the number of replicas, which makes each new replica from all the
 * old replicas' checkpoints.
 */
public final class ReplicaCheckpoint {

    public static final String OUTER = "outer.safetensors";

    /** A replica's trainer and its global weights; closing it closes both. */
    public record Replica(Trainer trainer, GlobalWeights global) implements AutoCloseable {
        @Override
        public void close() {
            try {
                global.close();
            } finally {
                trainer.close();
            }
        }
    }

    /**
     * One old replica to merge.
     *
     * @param dir      its checkpoint
     * @param caughtUp whether its own training is already in the global weights the merge starts
     *                 from (it had sent its pseudo-gradient for the synchronisation those weights
     *                 came from, and trained nothing since): it adds a zero pseudo-gradient
     */
    public record Old(Path dir, boolean caughtUp) {
    }

    private ReplicaCheckpoint() {
    }

    public static Path save(Replica replica, Path dir, JsonNode cursor) throws IOException {
        return Checkpoint.save(replica.trainer(), dir, cursor, Map.of(OUTER, replica.global().tensors()));
    }

    /** Verifies every file and returns the manifest's digest (the checkpoint's identity). */
    public static String verify(Path dir) throws IOException {
        return Checkpoint.verify(dir, Set.of(OUTER));
    }

    /** The replica a verified checkpoint holds, on {@code device}. */
    public static Replica load(Path dir, String device) throws IOException {
        Trainer trainer = Checkpoint.loadTrainer(dir, TorchRuntime.device(device));
        try {
            return new Replica(trainer, loadGlobal(dir, trainer.model().params()));
        } catch (IOException | RuntimeException e) {
            trainer.close();
            throw e;
        }
    }

    private static GlobalWeights loadGlobal(Path dir, Params like) throws IOException {
        try (NDManager cpu = TorchRuntime.engine().newBaseManager(Device.cpu())) {
            return GlobalWeights.restore(like, Checkpoint.readTensors(dir, OUTER, GlobalWeights.expectedTensors(like), cpu));
        }
    }

    /**
     * A replica of a job whose number of replicas changed, from the old replicas' checkpoints:
     * the global weights of {@code globalFrom} (an old replica that holds the newest ones) moved
     * to the old replicas' mean ({@link GlobalWeights#absorb}), the outer momentum as it was, the
     * mean of the old replicas' AdamW moments (their bias-correction clock: the largest), and
     * counters restarting at {@code step}. Every new replica computes the same bits.
     */
    public static Replica merge(List<Old> olds, Path globalFrom, long step, String device) throws IOException {
        for (Old old : olds) {
            verify(old.dir());
        }
        verify(globalFrom);
        Device on = TorchRuntime.device(device);
        Configs configs = Checkpoint.readConfigs(globalFrom);
        MomModel model = Checkpoint.loadModel(globalFrom, on);
        Trainer trainer = new Trainer(model, configs.train(), new TrainState(step, 0, 0, 0));
        GlobalWeights global = null;
        try {
            Params params = model.params();
            global = loadGlobal(globalFrom, params);
            long updates = 0;
            try (GlobalWeights.Mean delta = new GlobalWeights.Mean(params);
                 GlobalWeights.Mean first = new GlobalWeights.Mean(params);
                 GlobalWeights.Mean second = new GlobalWeights.Mean(params);
                 NDManager step0 = params.newStepManager()) {
                for (Old old : olds) {
                    try (Trainer t = Checkpoint.loadTrainer(old.dir(), on);
                         NDManager m = params.newStepManager()) {
                        if (old.caughtUp()) {
                            delta.addZero();
                        } else {
                            delta.add(global.pseudoGradient(t.model().params(), m));
                        }
                        first.add(t.optimizer().firstMoments());
                        second.add(t.optimizer().secondMoments());
                        updates = Math.max(updates, t.optimizer().updates());
                    }
                }
                global.absorb(delta, step0);
                global.assignTo(params);
                Map<String, NDArray> m = first.all(params, step0);
                Map<String, NDArray> v = second.all(params, step0);
                trainer.optimizer().restore(m, v, updates);
            }
            return new Replica(trainer, global);
        } catch (IOException | RuntimeException e) {
            if (global != null) {
                global.close();
            }
            trainer.close();
            throw e;
        }
    }
}
