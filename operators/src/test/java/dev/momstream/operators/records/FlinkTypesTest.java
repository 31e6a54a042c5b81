package dev.momstream.operators.records;

import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import dev.momstream.kafka.records.DeadLetter;
import dev.momstream.kafka.records.ModelEvent;
import dev.momstream.operators.pack.Carry;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.java.typeutils.PojoTypeInfo;
import org.junit.jupiter.api.Test;

/** Everything that travels between operators or sits in Flink state gets Flink's own serializer, not Kryo. */
class FlinkTypesTest {

    @Test
    void recordsAreFlinkPojos() {
        for (Class<?> type : new Class<?>[] {RawRecord.class, TokenizedDoc.class, Window.class, Batch.class,
            Carry.class, DeadLetter.class, ModelEvent.class}) {
            assertInstanceOf(PojoTypeInfo.class, TypeInformation.of(type), type.getSimpleName());
        }
    }
}
