package dev.momstream.operators.diloco;

import dev.momstream.operators.train.Validation;
import dev.momstream.trainer.train.StepResult;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;

/**
 * A replica's Flink metrics, in group {@code train}: gauges {@code loss}, {@code tokensPerSecond},
 * {@code validationLoss}, {@code publishedVersion}, counters {@code steps} and {@code tokens}; in
 * {@code train.sync}: counters {@code rounds}, {@code waitMillis} (from sending its
 * pseudo-gradient until the round could finish: waiting for peers) and {@code exchangeMillis}
 * (writing, reading and averaging the pseudo-gradients, and the outer step). Gauges are read by the
 * metric reporters on another thread, hence volatile.
 */
final class SyncGauges {

    private volatile double loss = Double.NaN;
    private volatile double tokensPerSecond;
    private volatile double validationLoss = Double.NaN;
    private volatile long publishedVersion;
    private final Counter steps;
    private final Counter tokens;
    private final Counter rounds;
    private final Counter waitMillis;
    private final Counter exchangeMillis;

    SyncGauges(MetricGroup train) {
        train.gauge("loss", (Gauge<Double>) () -> loss);
        train.gauge("tokensPerSecond", (Gauge<Double>) () -> tokensPerSecond);
        train.gauge("validationLoss", (Gauge<Double>) () -> validationLoss);
        train.gauge("publishedVersion", (Gauge<Long>) () -> publishedVersion);
        steps = train.counter("steps");
        tokens = train.counter("tokens");
        MetricGroup sync = train.addGroup("sync");
        rounds = sync.counter("rounds");
        waitMillis = sync.counter("waitMillis");
        exchangeMillis = sync.counter("exchangeMillis");
    }

    void step(StepResult r) {
        steps.inc();
        tokens.inc(r.tokens());
        if (!r.skipped()) {
            loss = r.loss();
        }
        tokensPerSecond = r.tokensPerSecond();
    }

    void exchanged(long nanos) {
        exchangeMillis.inc(nanos / 1_000_000);
    }

    void waited(long nanos) {
        waitMillis.inc(nanos / 1_000_000);
    }

    void synchronised(long nanos) {
        rounds.inc();
        exchangeMillis.inc(nanos / 1_000_000);
    }

    void validated(Validation v) {
        validationLoss = v.loss();
    }

    void published(long version) {
        publishedVersion = version;
    }
}
