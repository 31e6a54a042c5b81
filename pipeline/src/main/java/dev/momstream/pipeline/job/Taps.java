package dev.momstream.pipeline.job;

import dev.momstream.kafka.records.TrainMetrics;
import java.util.function.UnaryOperator;
import org.apache.flink.streaming.api.datastream.DataStream;

/**
 * Where a caller may splice operators into the job: between the trainer's metrics and their
 * sink. Runs use {@link #none()}; the failure tests splice in operators that fail on purpose.
 */
public record Taps(UnaryOperator<DataStream<TrainMetrics>> metrics) {

    public static Taps none() {
        return new Taps(UnaryOperator.identity());
    }
}
