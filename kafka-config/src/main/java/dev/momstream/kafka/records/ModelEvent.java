package dev.momstream.kafka.records;

import java.util.Objects;

/**
 * A published checkpoint. When the streaming job exports versions to ONNX, the event is sent
 * only once the export is complete and says where it is: a version is servable exactly when its
 * event has an {@code onnxPath}.
 *
 * @param runId          the training run
 * @param version        model version: the Flink checkpoint id that holds it
 * @param step           optimiser step of the checkpoint
 * @param tokensSeen     tokens consumed up to the checkpoint
 * @param checkpointPath where the model state lies
 * @param lineagePath    where its lineage (data offsets, config) lies
 * @param configHash     hash of the model/training configuration
 * @param validationLoss validation loss of this version; null when not measured
 * @param ts             epoch milliseconds of publication
 * @param onnxPath       the version's ONNX export directory; null when it is not servable
 * @param onnxChecksum   SHA-256 of that export's {@code MANIFEST.sha256} (its identity: a server
 *                       checks it before loading); null when not servable
 * @param onnxError      why the version will never be servable (its export failed for good);
 *                       null when it is servable or export is off
 */
public record ModelEvent(String runId, long version, long step, long tokensSeen, String checkpointPath,
                         String lineagePath, String configHash, Double validationLoss, long ts, String onnxPath,
                         String onnxChecksum, String onnxError) {

    public ModelEvent {
        Objects.requireNonNull(runId, "runId");
        Objects.requireNonNull(checkpointPath, "checkpointPath");
        Objects.requireNonNull(lineagePath, "lineagePath");
        Objects.requireNonNull(configHash, "configHash");
        if ((onnxPath == null) != (onnxChecksum == null) || (onnxPath != null && onnxError != null)) {
            throw new IllegalArgumentException("a servable event has an ONNX path and checksum and no error"
                    + " (path " + onnxPath + ", checksum " + onnxChecksum + ", error " + onnxError + ")");
        }
    }

    /** A published version, not (yet) exported. */
    public ModelEvent(String runId, long version, long step, long tokensSeen, String checkpointPath,
                      String lineagePath, String configHash, Double validationLoss, long ts) {
        this(runId, version, step, tokensSeen, checkpointPath, lineagePath, configHash, validationLoss, ts, null, null,
                null);
    }

    /** Whether the version has a verified ONNX export to serve. */
    public boolean servable() {
        return onnxPath != null;
    }

    /** This event with its version's ONNX export. */
    public ModelEvent withOnnx(String path, String checksum) {
        return new ModelEvent(runId, version, step, tokensSeen, checkpointPath, lineagePath, configHash, validationLoss,
                ts, Objects.requireNonNull(path, "path"), Objects.requireNonNull(checksum, "checksum"), null);
    }

    /** This event for a version that cannot be exported, with the reason. */
    public ModelEvent withOnnxError(String reason) {
        return new ModelEvent(runId, version, step, tokensSeen, checkpointPath, lineagePath, configHash, validationLoss,
                ts, null, null, Objects.requireNonNull(reason, "reason"));
    }
}
