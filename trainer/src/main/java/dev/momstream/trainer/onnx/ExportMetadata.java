package dev.momstream.trainer.onnx;

import dev.momstream.trainer.config.MomConfig;

/**
 * {@code metadata.json} of an exported model version.
 *
 * @param format {@value #FORMAT}
 * @param config the model configuration (also in each graph's ONNX {@code metadata_props})
 * @param version the published model version, null when exported from an offline checkpoint
 * @param step optimizer steps the weights were trained for
 * @param tokensSeen tokens trained on
 * @param lineageCard path of the version's lineage card, null when unknown
 * @param checkpoint the trainer checkpoint exported, null when exported from memory
 * @param checkpointChecksum SHA-256 of that checkpoint's manifest, null when exported from memory
 * @param opset the ONNX default-domain opset of the graphs
 * @param irVersion the ONNX IR version of the graphs
 * @param tokenizer the tokenizer the vocabulary belongs to
 * @param exportedAt ISO-8601 time of the export
 */
public record ExportMetadata(String format, MomConfig config, Long version, long step, long tokensSeen,
        String lineageCard, String checkpoint, String checkpointChecksum, int opset, int irVersion,
        String tokenizer, String exportedAt) {

    public static final String FORMAT = "mom-onnx/1";
    /** GPT-2's byte-level BPE, r50k_base (the only vocabulary the trainer uses). */
    public static final String GPT2_TOKENIZER = "gpt2 (r50k_base)";
}
