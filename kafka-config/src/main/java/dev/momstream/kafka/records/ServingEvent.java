package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * What a model host did with a version, on {@code infer.events}: it swapped it in, or refused it
 * (the previous one keeps serving).
 *
 * @param host            which host: {@code <job name>/<operator>/<subtask>}
 * @param type            {@value #SWAPPED} or {@value #REFUSED}
 * @param version         the version offered; null for a model exported without a version
 * @param model           its export directory
 * @param previousVersion the version it replaced (swapped) or that keeps serving (refused); null if none
 * @param loadMillis      swapped: loading, checking and warming up the new sessions, done while the
 *                        previous version served
 * @param reason          refused: why
 * @param ts              epoch milliseconds
 */
public record ServingEvent(String host, String type, Long version, String model, Long previousVersion,
                           Double loadMillis, String reason, long ts) {

    public static final String SWAPPED = "swapped";
    public static final String REFUSED = "refused";

    public ServingEvent {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(model, "model");
    }
}
