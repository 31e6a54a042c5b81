package dev.momstream.pipeline.cli;

import java.util.Map;

/**
 * A command whose options build records that check themselves ({@code JobOptions},
 * {@code ServeOptions}, ...): which of its options sets each record field, so that a value out of
 * range is reported as the option the user typed ({@code --max-failed-checkpoints 0 must be at
 * least 1}), not as the field ({@code failedCheckpointsToStop=0}). See {@link MomCli#message}.
 */
interface OptionFields {

    /** The option (as {@code --name}) that sets each record field. */
    Map<String, String> optionOfField();
}
