package dev.momstream.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.momstream.trainer.train.TrainConfig;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one resolution path of a configuration: preset at a size, then a file, then key=value overrides. */
class ConfigsTest {

    @Test
    void aFileThenOverridesChangeOnlyWhatTheyName() throws IOException {
        JsonNode file = Json.MAPPER.readTree("{\"model\": {\"N_A\": 3, \"d\": 128}, \"train\": {\"lr\": 5e-4}}");
        Configs c = Configs.of(Preset.MOM, ModelSize.TINY).merge(file)
                .override(Map.of("K", "2", "lr", "3e-3", "epsilon", "1e-6", "schedule", "constant"))
                .validate();
        MomConfig expectedModel = Preset.MOM.at(ModelSize.TINY).toBuilder().width(128, 4, 64)
                .pools(3, 2, 2, 4, true).build();
        TrainConfig expectedTrain = TrainConfig.defaults().toBuilder().lr(3e-3).eps(1e-6)
                .schedule(TrainConfig.Schedule.CONSTANT).build();
        assertEquals(new Configs(expectedModel, expectedTrain), c);
        assertEquals(TrainConfig.defaults(), TrainConfig.defaults().toBuilder().build());
        assertEquals(65, c.windowLength());
        assertEquals(8, c.windowsPerStep());

        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> c.override(Map.of("depth", "3")));
        assertTrue(unknown.getMessage().contains("unknown MomConfig key 'depth'"), unknown.getMessage());
        assertTrue(Configs.accepts("lr") && Configs.accepts("N_F") && !Configs.accepts("depth"));
        IllegalArgumentException invalid = assertThrows(IllegalArgumentException.class,
                () -> c.override(Map.of("batchSize", "0", "heads", "3")).validate());
        assertTrue(invalid.getMessage().contains("d=128 is not divisible by heads=3"), invalid.getMessage());
    }

    /** What config.json and run.json hold, and what lineage cards hash: the same two objects as before. */
    @Test
    void jsonHasTheModelAndTrainObjectsOnlyAndRoundTrips() throws IOException {
        Configs c = Configs.of(Preset.MOE, ModelSize.SMALL);
        JsonNode json = Json.MAPPER.readTree(Json.write(c));
        assertEquals(List.of("model", "train"), names(json.fieldNames()));
        assertEquals(c, Json.read(Json.write(c), Configs.class));
        Map<String, Object> pair = new LinkedHashMap<>();
        pair.put("model", c.model());
        pair.put("train", c.train());
        assertEquals(Json.hash(pair), c.hash());
        assertNotEquals(c.hash(), c.withTrain(c.train().withTotalSteps(7)).hash());
    }

    /** Flink ships the train operator, and so these configs, with Java serialization. */
    @Test
    void javaSerializationRoundTrips() throws IOException, ClassNotFoundException {
        Configs c = Configs.of(Preset.MOM, ModelSize.TINY).override(Map.of("router", "mlp", "seed", "9"));
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(c);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            assertEquals(c, in.readObject());
        }
    }

    private static List<String> names(Iterator<String> it) {
        List<String> out = new ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }
}
