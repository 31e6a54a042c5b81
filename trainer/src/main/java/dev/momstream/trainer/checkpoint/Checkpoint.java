package dev.momstream.trainer.checkpoint;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.NullNode;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.ParamLayout;
import dev.momstream.trainer.model.ParamSpec;
import dev.momstream.trainer.model.Params;
import dev.momstream.trainer.train.AdamW;
import dev.momstream.trainer.engine.NoGrad;
import dev.momstream.trainer.train.TrainState;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * A training checkpoint: a directory holding the resolved configs, every parameter under its
 * canonical name, both AdamW moments, the counters, the RNG seed and the caller's data cursor,
 * with a SHA-256 manifest. Written to a hidden temporary directory and renamed into place, so a
 * crash never leaves a half-written checkpoint under the final name; loading verifies every
 * digest, name and shape first and refuses anything that does not match.
 */
public final class Checkpoint {
    public static final String CONFIG = "config.json";
    public static final String MODEL = "model.safetensors";
    public static final String OPTIMIZER = "optimizer.safetensors";
    public static final String STATE = "state.json";
    static final String FORMAT = "mom-checkpoint/1";
    /** What a model needs: its manifest must list (and verify) each of these. */
    static final Set<String> MODEL_FILES = Set.of(CONFIG, MODEL, STATE);
    /** What continuing training needs: the model's files and the optimizer's. */
    static final Set<String> TRAINER_FILES = Set.of(CONFIG, MODEL, OPTIMIZER, STATE);

    private Checkpoint() {}

    /**
     * Counters and positions of a checkpoint.
     *
     * @param adamUpdates AdamW's bias-correction clock
     * @param lr learning rate of the last step (informational; the schedule recomputes it)
     * @param seed the run's seed; every random draw derives from (seed, step, micro-batch)
     * @param cursor the data position, in the caller's terms (file cursor, Kafka offsets, ...)
     */
    public record State(String format, long step, long tokensSeen, long skippedSteps,
            int consecutiveBad, long adamUpdates, double lr, long seed, String dtype,
            JsonNode cursor, String savedAt) {}

    /** Writes {@code trainer}'s full state to {@code dir}, which must not exist yet. */
    public static Path save(Trainer trainer, Path dir, JsonNode cursor) throws IOException {
        return save(trainer, dir, cursor, Map.of());
    }

    /**
     * As {@link #save(Trainer, Path, JsonNode)}, with more safetensors files beside the trainer's
     * ({@code extras}: file name to its tensors), listed in the manifest like the others.
     */
    public static Path save(Trainer trainer, Path dir, JsonNode cursor, Map<String, Map<String, NDArray>> extras)
            throws IOException {
        Params params = trainer.model().params();
        requireFinite(params.all().values());
        AdamW opt = trainer.optimizer();
        TrainState s = trainer.state();
        State state = new State(FORMAT, s.step(), s.tokensSeen(), s.skippedSteps(),
                s.consecutiveBad(), opt.updates(),
                s.step() == 0 ? 0 : trainer.schedule().at(s.step() - 1), trainer.config().seed(),
                params.dtype().name().toLowerCase(Locale.ROOT),
                cursor == null ? NullNode.getInstance() : cursor, Instant.now().toString());
        return SealedDirectory.write(dir, tmp -> {
            // digests are computed while writing: nothing is read back
            Map<String, String> digests = writeModel(tmp, trainer.configs(), params.all());
            Map<String, NDArray> moments = new LinkedHashMap<>();
            opt.firstMoments().forEach((k, v) -> moments.put("m." + k, v));
            opt.secondMoments().forEach((k, v) -> moments.put("v." + k, v));
            digests.put(OPTIMIZER, SafeTensors.write(tmp.resolve(OPTIMIZER), moments, Map.of("format", FORMAT)));
            digests.put(STATE, Manifest.writeText(tmp.resolve(STATE), Json.write(state)));
            for (Map.Entry<String, Map<String, NDArray>> e : extras.entrySet()) {
                digests.put(e.getKey(), SafeTensors.write(tmp.resolve(e.getKey()), e.getValue(), Map.of("format", FORMAT)));
            }
            return digests;
        });
    }

    /**
     * Writes a model checkpoint (no optimizer: {@link #loadModel} reads it, for evaluation and
     * export) of {@code weights} (every parameter of the configured model, by name) to
     * {@code dir}, which must not exist yet.
     *
     * @param state its counters (see {@link #modelState})
     */
    public static Path saveModel(Configs configs, Map<String, NDArray> weights, State state, Path dir)
            throws IOException {
        requireFinite(weights.values());
        return SealedDirectory.write(dir, tmp -> {
            Map<String, String> digests = writeModel(tmp, configs, weights);
            digests.put(STATE, Manifest.writeText(tmp.resolve(STATE), Json.write(state)));
            return digests;
        });
    }

    /** The counters of a model checkpoint written now. */
    public static State modelState(long step, long tokensSeen, long seed, DataType dtype, JsonNode cursor) {
        return new State(FORMAT, step, tokensSeen, 0, 0, 0, 0, seed, dtype.name().toLowerCase(Locale.ROOT),
                cursor == null ? NullNode.getInstance() : cursor, Instant.now().toString());
    }

    private static Map<String, String> writeModel(Path tmp, Configs configs, Map<String, NDArray> weights)
            throws IOException {
        Map<String, String> digests = new LinkedHashMap<>();
        digests.put(CONFIG, Manifest.writeText(tmp.resolve(CONFIG), Json.write(configs)));
        digests.put(MODEL, SafeTensors.write(tmp.resolve(MODEL), weights, Map.of("format", FORMAT)));
        return digests;
    }

    /**
     * Verifies a training checkpoint (every file listed and matching its digest, nothing unlisted
     * beside them); returns the digest of the manifest itself (the checkpoint's identity).
     */
    public static String verify(Path dir) throws IOException {
        return verify(dir, Set.of());
    }

    /** As {@link #verify(Path)}, also requiring {@code extras} (files written beside the trainer's). */
    public static String verify(Path dir, Set<String> extras) throws IOException {
        Set<String> required = new LinkedHashSet<>(TRAINER_FILES);
        required.addAll(extras);
        Manifest.verify(dir, "checkpoint", required);
        return Manifest.sha256(dir.resolve(Manifest.FILE));
    }

    /** Verifies a model checkpoint (see {@link #saveModel}); returns the digest of its manifest. */
    public static String verifyModel(Path dir) throws IOException {
        Manifest.verify(dir, "checkpoint", MODEL_FILES);
        return Manifest.sha256(dir.resolve(Manifest.FILE));
    }

    /**
     * The tensors of {@code file}, one of a verified checkpoint's extra files, checked against
     * the names and shapes {@code expected} requires and refused if any value is not finite.
     */
    public static Map<String, NDArray> readTensors(Path dir, String file, Map<String, long[]> expected,
            NDManager manager) throws IOException {
        checkHeader(dir, file, expected.keySet(), expected::get);
        Map<String, NDArray> tensors = SafeTensors.read(dir.resolve(file), manager);
        requireFinite(dir, file, tensors);
        return tensors;
    }

    public static Configs readConfigs(Path dir) throws CheckpointException {
        try {
            return Json.read(Files.readString(dir.resolve(CONFIG)), Configs.class).validate();
        } catch (IOException | IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + dir + ": " + CONFIG + " is unreadable: "
                    + e.getMessage(), e);
        }
    }

    public static State readState(Path dir) throws CheckpointException {
        try {
            return Json.read(Files.readString(dir.resolve(STATE)), State.class);
        } catch (IOException | IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + dir + ": " + STATE + " is unreadable: "
                    + e.getMessage(), e);
        }
    }

    /** The model of a verified checkpoint, for evaluation, export or two-phase init. */
    public static MomModel loadModel(Path dir, Device device) throws IOException {
        Manifest.verify(dir, "checkpoint", MODEL_FILES);
        MomConfig config = readConfigs(dir).model();
        DataType dtype = dtypeOf(readState(dir), dir);
        return new MomModel(config, loadParams(dir, config, device, dtype));
    }

    /** As {@link #loadModel(Path, Device)}, on a device named as the command line names it (cpu, gpu, gpu:N). */
    public static MomModel loadModel(Path dir, String device) throws IOException {
        return loadModel(dir, TorchRuntime.device(device));
    }

    /** Model, optimizer and counters of a verified checkpoint, ready to continue training. */
    public static Trainer loadTrainer(Path dir, Device device) throws IOException {
        verify(dir);
        Configs configs = readConfigs(dir);
        State state = readState(dir);
        DataType dtype = dtypeOf(state, dir);
        MomModel model = new MomModel(configs.model(), loadParams(dir, configs.model(), device, dtype));
        Trainer trainer = new Trainer(model, configs.train(), new TrainState(state.step(),
                state.tokensSeen(), state.skippedSteps(), state.consecutiveBad()));
        try (NDManager cpu = TorchRuntime.engine().newBaseManager(Device.cpu())) {
            Path file = dir.resolve(OPTIMIZER);
            ParamLayout layout = model.params().layout();
            Set<String> expected = layout.specs().stream()
                    .flatMap(s -> List.of("m." + s.name(), "v." + s.name()).stream())
                    .collect(Collectors.toCollection(LinkedHashSet::new));
            checkHeader(dir, OPTIMIZER, expected, name -> layout.get(name.substring(2)).shape());
            Map<String, NDArray> all = SafeTensors.read(file, cpu);
            requireFinite(dir, OPTIMIZER, all);
            Map<String, NDArray> m = new LinkedHashMap<>();
            Map<String, NDArray> v = new LinkedHashMap<>();
            all.forEach((k, a) -> (k.startsWith("m.") ? m : v).put(k.substring(2), a));
            trainer.optimizer().restore(m, v, state.adamUpdates());
        } catch (IOException | RuntimeException e) {
            trainer.close();
            throw e;
        }
        return trainer;
    }

    private static Params loadParams(Path dir, MomConfig config, Device device, DataType dtype)
            throws IOException {
        ParamLayout layout = ParamLayout.of(config);
        checkHeader(dir, MODEL, layout.specs().stream().map(ParamSpec::name)
                        .collect(Collectors.toCollection(LinkedHashSet::new)),
                name -> layout.get(name).shape());
        Path file = dir.resolve(MODEL);
        try {
            return Params.of(config, device, dtype, cpu -> {
                try {
                    Map<String, NDArray> tensors = SafeTensors.read(file, cpu);
                    requireFinite(dir, MODEL, tensors);
                    return spec -> tensors.get(spec.name());
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    /** A NaN or infinity in a stored tensor is refused like a bad digest, naming the tensor. */
    private static void requireFinite(Path dir, String file, Map<String, NDArray> tensors) throws CheckpointException {
        // the temporaries belong to the tensors' manager, released with it
        for (Map.Entry<String, NDArray> e : tensors.entrySet()) {
            NDArray a = e.getValue();
            if (a.getDataType().isFloating() && a.isNaN().logicalOr(a.isInfinite()).any().getBoolean()) {
                throw new CheckpointException("checkpoint " + dir + ": " + file + " holds NaN or infinite values"
                        + " in tensor " + e.getKey() + "; refusing to load it");
            }
        }
    }

    private static void checkHeader(Path dir, String file, Set<String> expected,
            Function<String, long[]> shapeOf) throws CheckpointException {
        Map<String, SafeTensors.Entry> header;
        try {
            header = SafeTensors.header(dir.resolve(file));
        } catch (IOException e) {
            throw new CheckpointException("checkpoint " + dir + ": " + file + " is unreadable: "
                    + e.getMessage(), e);
        }
        for (String name : expected) {
            SafeTensors.Entry e = header.get(name);
            if (e == null) {
                throw new CheckpointException("checkpoint " + dir + ": " + file + " lacks tensor "
                        + name + " that the configuration requires");
            }
            if (!Arrays.equals(e.shape().getShape(), shapeOf.apply(name))) {
                throw new CheckpointException("checkpoint " + dir + ": " + file + " has " + name
                        + " of shape " + e.shape() + " but the configuration requires "
                        + new Shape(shapeOf.apply(name)));
            }
        }
        for (String name : header.keySet()) {
            if (!expected.contains(name)) {
                throw new CheckpointException("checkpoint " + dir + ": " + file
                        + " holds tensor " + name + " that the configuration does not have");
            }
        }
    }

    private static DataType dtypeOf(State state, Path dir) throws CheckpointException {
        try {
            return DataType.valueOf(state.dtype().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CheckpointException("checkpoint " + dir + ": unknown dtype " + state.dtype());
        }
    }

    /** A NaN or infinity must never reach saved weights. */
    private static void requireFinite(Collection<NDArray> weights) {
        NDArray any = weights.iterator().next();
        try (NDManager m = any.getManager().newSubManager(); NoGrad ignored = new NoGrad()) {
            NDList sums = new NDList();
            for (NDArray p : weights) {
                NDArray s = p.sum();
                s.attach(m);
                sums.add(s);
            }
            double total = NDArrays.stack(sums).sum().toType(DataType.FLOAT64, false).getDouble();
            if (!Double.isFinite(total)) {
                throw new IllegalStateException("refusing to save a checkpoint: the weights contain "
                        + "NaN or infinite values");
            }
        }
    }

    /** Deletes a checkpoint directory (or any directory tree); nothing happens when it does not exist. */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }
}
