package dev.momstream.operators.tokenize;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.DecodeResult;
import dev.momstream.kafka.records.DocumentDecoder;
import dev.momstream.kafka.records.RejectReason;
import dev.momstream.operators.records.DocRef;
import dev.momstream.operators.records.RawRecord;
import dev.momstream.operators.records.TokenizedDoc;
import dev.momstream.trainer.data.Gpt2Tokenizer;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * Raw records to GPT-2 tokens. Every record has exactly one outcome, each counted: accepted
 * (tokenized, main output) or rejected with a reason (a {@link DeadLetter} on the
 * {@link #DEAD_LETTERS} side output). {@link DocumentDecoder} never throws, so a bad record
 * cannot crash the job, and none is dropped silently.
 *
 * <p>Metrics, in the operator's group {@code tokenize}: counters {@code accepted}, {@code tokens},
 * {@code rejected} and {@code rejected_<reason>} (for example {@code rejected_not_utf8}).
 */
public final class TokenizeFunction extends ProcessFunction<RawRecord, TokenizedDoc> {

    private static final long serialVersionUID = 1L;

    /** Rejected records, with the reason, for the dead-letter topic. */
    public static final OutputTag<DeadLetter> DEAD_LETTERS =
            new OutputTag<>("dead-letters", TypeInformation.of(DeadLetter.class));

    private final DocumentDecoder decoder;

    private transient Counter accepted;
    private transient Counter tokens;
    private transient Counter rejected;
    private transient Map<RejectReason, Counter> rejectedBy;

    /** @param decoder decides accepted or rejected (its size limit is the record size limit) */
    public TokenizeFunction(DocumentDecoder decoder) {
        this.decoder = Objects.requireNonNull(decoder, "decoder");
    }

    @Override
    public void open(OpenContext context) {
        MetricGroup group = getRuntimeContext().getMetricGroup().addGroup("tokenize");
        accepted = group.counter("accepted");
        tokens = group.counter("tokens");
        rejected = group.counter("rejected");
        rejectedBy = new EnumMap<>(RejectReason.class);
        for (RejectReason reason : RejectReason.values()) {
            rejectedBy.put(reason, group.counter("rejected_" + reason.name().toLowerCase(Locale.ROOT)));
        }
    }

    @Override
    public void processElement(RawRecord record, Context ctx, Collector<TokenizedDoc> out) {
        DecodeResult result = decoder.decode(record.value(), record.origin());
        if (result instanceof DecodeResult.Accepted ok) {
            int[] ids = Gpt2Tokenizer.encode(ok.document().text());
            out.collect(new TokenizedDoc(new DocRef(record.topic(), record.partition(), record.offset()), ids));
            accepted.inc();
            tokens.inc(ids.length);
        } else {
            DecodeResult.Rejected no = (DecodeResult.Rejected) result;
            ctx.output(DEAD_LETTERS, no.deadLetter());
            rejected.inc();
            rejectedBy.get(no.reason()).inc();
        }
    }
}
