package dev.momstream.trainer.model;

/** The two routed steps of a round (docs/MODEL.md §3): attention, then FFN. */
public enum Step {
    ATTN("attn"),
    FFN("ffn");

    public final String id;

    Step(String id) {
        this.id = id;
    }
}
