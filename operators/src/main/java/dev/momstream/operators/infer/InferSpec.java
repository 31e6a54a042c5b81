package dev.momstream.operators.infer;

import java.io.Serializable;
import java.util.Objects;

/**
 * What an inference operator serves, shipped with the job graph.
 *
 * @param follow       whether servable versions announced on {@code model.events} replace the
 *                     model (false: serve {@code initialModel} only)
 * @param runId        follow only versions of this run (events of other runs on the same topic
 *                     are ignored); null = any run's
 * @param initialModel the export to serve before any event names a newer version; null = wait
 *                     for {@code model.events}
 * @param options      how it serves
 * @param documents    input 1 holds documents of a scored topic (their losses go to the
 *                     {@link InferOperator#SCORES} output) rather than requests
 */
public record InferSpec(boolean follow, String runId, ServableModel initialModel, ServeOptions options, boolean documents)
        implements Serializable {

    private static final long serialVersionUID = 1L;

    public InferSpec {
        Objects.requireNonNull(options, "options");
    }
}
