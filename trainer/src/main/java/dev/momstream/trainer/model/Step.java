package dev.momstream.trainer.model;

/** The two routed steps of a round (spec §3): attention, then FFN. */
public enum Step {
    ATTN("attn"),
    FFN("ffn");

    public final String id;

    Step(String id) {
        this.id = id;
    }
}
