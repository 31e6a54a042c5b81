package dev.momstream.trainer.run;

import dev.momstream.trainer.checkpoint.Checkpoint;
import dev.momstream.trainer.checkpoint.CheckpointException;
import dev.momstream.trainer.config.Configs;
import dev.momstream.trainer.config.Json;
import dev.momstream.trainer.data.SkippedFile;
import dev.momstream.trainer.data.TokenCorpus;
import dev.momstream.trainer.data.WindowSampler;
import dev.momstream.trainer.engine.TorchRuntime;
import dev.momstream.trainer.model.MomModel;
import dev.momstream.trainer.model.TwoPhaseInit;
import dev.momstream.trainer.train.EvalResult;
import dev.momstream.trainer.train.StepResult;
import dev.momstream.trainer.train.TrainConfig;
import dev.momstream.trainer.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Offline training on a token corpus into a run directory: {@code config.json},
 * {@code metrics.jsonl} and {@code checkpoints/step-NNNNNNNN/}. A rerun with {@code resume}
 * continues from the newest checkpoint that loads, with the data cursor it saved. It never
 * starts over silently: each newer checkpoint it refuses is reported and moved aside to
 * {@code step-NNNNNNNN.refused-<epoch ms>} (so that the step can be saved again), and when none
 * loads the run stops with an error.
 */
public final class OfflineRun {
    private static final Logger LOG = LoggerFactory.getLogger(OfflineRun.class);
    public static final String CHECKPOINTS = "checkpoints";
    private static final Pattern STEP_DIR = Pattern.compile("step-\\d{8,}");

    /**
     * @param steps optimizer steps the run ends at (counting steps before a resume)
     * @param evalEvery steps between validation passes (0 = only at the end)
     * @param evalTokens validation tokens per pass (0 = the whole validation split)
     * @param checkpointEvery steps between checkpoints (0 = only at the end)
     * @param initFrom a vanilla checkpoint to build the MoM from (two-phase init), or null
     * @param device cpu, gpu or gpu:N
     */
    public record Options(Configs configs, Path out, long steps, int evalEvery,
            long evalTokens, int checkpointEvery, boolean resume, Path initFrom, String device) {}

    /** Callbacks for progress display. */
    public interface Listener {
        void onStep(StepMetrics metrics);

        default void onCheckpoint(Path dir) {}

        /** {@code resume} refused {@code checkpoint} for {@code reason} and moved it to {@code movedTo}. */
        default void onRefused(Path checkpoint, String reason, Path movedTo) {}
    }

    /**
     * What a run did; {@code resumedFrom} is the checkpoint it continued (null when it started
     * fresh), {@code skippedFiles} are the corpus entries it could not use.
     */
    public record Summary(long startStep, long endStep, long tokens, double firstLoss,
            double lastLoss, Double valLoss, long skippedSteps, Path resumedFrom, List<Path> checkpoints,
            List<SkippedFile> skippedFiles) {}

    private OfflineRun() {}

    public static Summary run(TokenCorpus data, Options o, Listener listener) throws IOException {
        Path checkpoints = o.out().resolve(CHECKPOINTS);
        List<Path> saved = newestFirst(checkpoints);
        if (!o.resume() && !saved.isEmpty()) {
            throw new IOException(o.out() + " already holds checkpoints; pass --resume to continue "
                    + "that run or choose another --out");
        }
        int window = o.configs().windowLength();
        TrainConfig train = o.configs().train();
        WindowSampler sampler = new WindowSampler(data.train(), window, train.seed());
        List<int[][]> validation = WindowSampler.sequentialBatches(data.validation(), window,
                train.batchSize(), o.evalTokens());
        Path resumedFrom = null;
        Trainer trainer;
        if (saved.isEmpty()) {
            if (o.resume()) {
                LOG.warn("Nothing to resume: {} holds no checkpoint; starting at step 0", checkpoints);
            }
            trainer = fresh(o);
        } else {
            Resumed r = loadNewestIntact(saved, o, listener);
            resumedFrom = r.from();
            trainer = r.trainer();
            try {
                sampler.seek(Json.MAPPER.treeToValue(Checkpoint.readState(resumedFrom).cursor(),
                        WindowSampler.Cursor.class));
            } catch (IOException | RuntimeException e) {
                trainer.close();
                throw e;
            }
            LOG.info("Resuming from {} at step {}", resumedFrom, trainer.state().step());
        }
        long horizon = trainer.config().totalSteps();
        if (horizon > 0 && o.steps() > horizon) {
            LOG.warn("this run's learning-rate schedule ends at step {}; steps {}..{} run at the floor "
                    + "rate (set --totalSteps on the first run to plan further)", horizon, horizon, o.steps());
        }
        List<Path> written = new ArrayList<>();
        double first = Double.NaN;
        double last = Double.NaN;
        Double valLoss = null;
        long start = trainer.state().step();
        try (Trainer t = trainer; MetricsLog log = MetricsLog.append(o.out())) {
            Files.writeString(o.out().resolve("config.json"),
                    Json.write(t.configs()));
            while (t.state().step() < o.steps()) {
                List<int[][]> micro = new ArrayList<>();
                for (int i = 0; i < t.config().gradAccum(); i++) {
                    micro.add(sampler.next(t.config().batchSize()));
                }
                StepResult r = t.step(micro);
                long done = t.state().step();
                boolean end = done == o.steps();
                valLoss = null;
                if (end || (o.evalEvery() > 0 && done % o.evalEvery() == 0)) {
                    EvalResult e = t.evaluate(validation);
                    valLoss = e.loss();
                }
                if (!r.skipped()) {
                    first = Double.isNaN(first) ? r.loss() : first;
                    last = r.loss();
                }
                StepMetrics m = StepMetrics.of(r, t.state().tokensSeen(), valLoss);
                log.write(m);
                listener.onStep(m);
                if (end || (o.checkpointEvery() > 0 && done % o.checkpointEvery() == 0)) {
                    Path dir = Checkpoint.save(t, checkpoints.resolve(name(done)),
                            Json.MAPPER.valueToTree(sampler.cursor()));
                    written.add(dir);
                    listener.onCheckpoint(dir);
                }
            }
            return new Summary(start, t.state().step(), t.state().tokensSeen(), first, last,
                    lastValidation(valLoss, t, validation, start), t.state().skippedSteps(), resumedFrom,
                    written, data.skipped());
        }
    }

    private static Double lastValidation(Double valLoss, Trainer t, List<int[][]> validation, long start) {
        if (valLoss != null || t.state().step() > start) {
            return valLoss;
        }
        return t.evaluate(validation).loss(); // nothing left to train: report where the run stands
    }

    private static Trainer fresh(Options o) throws IOException {
        TrainConfig train = o.configs().train();
        if (train.totalSteps() == 0) {
            train = train.withTotalSteps(o.steps());
        }
        if (o.initFrom() == null) {
            return Trainer.fresh(o.configs().withTrain(train), o.device());
        }
        MomModel model;
        try (MomModel vanilla = Checkpoint.loadModel(o.initFrom(), TorchRuntime.device(o.device()))) {
            model = TwoPhaseInit.fromVanilla(vanilla, o.configs().model(), train.seed());
        }
        LOG.info("Built the MoM from vanilla checkpoint {} (two-phase init)", o.initFrom());
        return new Trainer(model, train);
    }

    private record Resumed(Trainer trainer, Path from) {}

    /**
     * The trainer of the newest checkpoint in {@code saved} that loads. Each newer one is refused
     * with its reason and renamed aside; when none loads, nothing is renamed and the run stops.
     */
    private static Resumed loadNewestIntact(List<Path> saved, Options o, Listener listener) throws IOException {
        List<String> refused = new ArrayList<>();
        for (Path dir : saved) {
            Trainer trainer;
            try {
                trainer = Trainer.restore(dir, o.device());
            } catch (CheckpointException e) {
                refused.add(e.getMessage());
                continue;
            }
            for (int j = 0; j < refused.size(); j++) {
                Path newer = saved.get(j);
                Path aside = newer.resolveSibling(newer.getFileName() + ".refused-" + System.currentTimeMillis());
                Files.move(newer, aside);
                listener.onRefused(newer, refused.get(j), aside);
            }
            return new Resumed(trainer, dir);
        }
        throw new CheckpointException("--resume: none of the " + saved.size() + " checkpoints in "
                + saved.get(0).getParent() + " loads, so there is nothing to continue; refusing to start over. "
                + String.join("; ", refused));
    }

    /** The directory name of the checkpoint after {@code step} steps. */
    public static String name(long step) {
        return String.format("step-%08d", step);
    }

    /** The checkpoint directories {@code step-NNNNNNNN} under {@code dir}, newest first. */
    private static List<Path> newestFirst(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> STEP_DIR.matcher(p.getFileName().toString()).matches())
                    .sorted(Comparator.comparing(Path::getFileName).reversed()).toList();
        }
    }
}
