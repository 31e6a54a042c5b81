package dev.momstream.trainer.experiment;

import com.fasterxml.jackson.annotation.JsonIgnore;
import dev.momstream.trainer.config.Configs;
import java.util.List;

/**
 * One training run of a grid, fully resolved: what {@code run.json} in its directory holds. Runs
 * are identified by {@link #key}, a hash of everything that decides their results, so that two
 * grids declaring the same run share it and a finished run is never redone.
 *
 * @param key identifies the run (its directory under {@code runs/})
 * @param configs model and training, with the seed and the schedule's horizon set
 * @param steps optimizer steps of this run
 * @param tokensOffset tokens the model was trained on before this run (two-phase: phase 1)
 * @param evalEvery steps between validation passes
 * @param evalTokens validation tokens per pass
 * @param checkpointEvery steps between checkpoints
 * @param source the run this one starts from, or null for a fresh model
 * @param labels {@code grid/arm/s<seed>} of every grid arm that declared this run
 * @param keepSteps checkpoints other runs start from, kept when the run is tidied
 */
public record RunSpec(String key, Configs configs, long steps, long tokensOffset, int evalEvery, long evalTokens,
        int checkpointEvery, Source source, List<String> labels, List<Long> keepSteps) {

    /**
     * Where a run starts.
     *
     * @param kind {@code two-phase}: build the MoM from run {@code run}'s checkpoint at
     *     {@code step}; {@code prune}: remove the least-used modules from run {@code run}'s final
     *     model ({@code step})
     * @param attnRemoved attention modules removed from each chunk (prune)
     * @param ffnRemoved FFN modules removed from each chunk (prune)
     */
    public record Source(String kind, String run, long step, int attnRemoved, int ffnRemoved) {
        public static final String TWO_PHASE = "two-phase";
        public static final String PRUNE = "prune";
    }

    /** What the key hashes: every field that changes a result. */
    record Identity(Configs configs, long steps, int evalEvery, long evalTokens, int checkpointEvery, Source source,
            String data) {}

    /** Tokens trained per optimizer step. */
    @JsonIgnore
    public long tokensPerStep() {
        return configs.train().tokensPerStep(configs.model().contextLength());
    }

    /** The first label: how progress and errors name the run. */
    @JsonIgnore
    public String label() {
        return labels.get(0);
    }
}
