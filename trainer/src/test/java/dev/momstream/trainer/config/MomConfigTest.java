package dev.momstream.trainer.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;

class MomConfigTest {

    @Test
    void everyPresetAndSizeRoundTripsThroughJson() {
        for (Preset p : Preset.values()) {
            for (ModelSize s : ModelSize.values()) {
                MomConfig c = p.at(s).validate();
                assertEquals(c, Json.read(Json.write(c), MomConfig.class));
            }
        }
    }

    @Test
    void presetsHaveTheShapesOfSpecSection6() {
        MomConfig vanilla = Preset.VANILLA.at(ModelSize.SMALL);
        assertEquals(12, vanilla.bottom());
        assertEquals(0, vanilla.chunks());
        MomConfig recurrent = Preset.RECURRENT.at(ModelSize.SMALL);
        assertEquals(12, recurrent.rounds());
        assertTrue(!recurrent.hasRouter(recurrent.attnModules()));
        MomConfig moe = Preset.MOE.at(ModelSize.SMALL);
        assertEquals(12, moe.chunks());
        assertTrue(!moe.hasRouter(moe.attnModules()) && moe.hasRouter(moe.ffnModules()));
        MomConfig skip = Preset.LAYERSKIP.at(ModelSize.SMALL);
        assertEquals(2, skip.routerClasses(skip.attnModules()));
        MomConfig mom = Preset.MOM.at(ModelSize.SMALL);
        // same parameter budget as GPT-2 small: 1 + 2 * (4 + anchor) + 1 = 12 vanilla layers
        assertEquals(12, mom.vanillaLayers());
        assertEquals(1 + 2 * (4 + 1) + 1, mom.depth());
        assertEquals(24, Preset.MOM.at(ModelSize.MEDIUM).vanillaLayers());
        assertEquals(36, Preset.MOM.at(ModelSize.LARGE).vanillaLayers());
        assertEquals(4, Preset.MOM.at(ModelSize.TINY).vanillaLayers());
    }

    @Test
    void overridesAcceptNamesAndPaperSymbols() {
        MomConfig c = Overrides.apply(Preset.MOM.at(ModelSize.TINY),
                Map.of("K", "2", "H", "3", "N_A", "3", "router", "mlp", "tau", "0.5", "d", "128"));
        assertEquals(2, c.topK());
        assertEquals(3, c.rounds());
        assertEquals(3, c.attnModules());
        assertEquals(RouterKind.MLP, c.router());
        assertEquals(0.5, c.tau());
        assertEquals(128, c.d());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Overrides.apply(c, Map.of("depth", "3")));
        assertTrue(e.getMessage().contains("unknown MomConfig key 'depth'"), e.getMessage());
    }

    @Test
    void badConfigsFailWithMessagesThatNameTheValues() {
        MomConfig base = Preset.MOM.at(ModelSize.TINY);
        assertMessage(base.toBuilder().width(100, 3, 64).build(), "d=100 is not divisible by heads=3");
        assertMessage(base.toBuilder().pools(3, 3, 5, 4, true).build(),
                "K=5 exceeds the attention pool of 3 modules + SKIP");
        assertMessage(base.toBuilder().pools(4, 2, 3, 4, false).build(),
                "K=3 exceeds the FFN pool of 2 modules");
        IllegalArgumentException k0 = assertThrows(IllegalArgumentException.class,
                base.toBuilder().pools(3, 3, 0, 4, true).build()::validate);
        assertEquals("invalid model config: K=0 must be at least 1", k0.getMessage(), "said once, not once per pool");
        assertMessage(base.toBuilder().tau(0).build(), "tau=0.0 must be a positive finite number");
        assertMessage(base.toBuilder().dropout(1.0).build(), "dropout=1.0 must be in [0, 1)");
        assertMessage(base.toBuilder().layout(0, 0, 0, false).build(), "the model has no layers");
        // a lone module without SKIP has no router, so K does not constrain it (moe attention)
        base.toBuilder().pools(1, 8, 2, 1, false).build().validate();
    }

    private static void assertMessage(MomConfig c, String expected) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, c::validate);
        assertTrue(e.getMessage().contains(expected), e.getMessage());
    }
}
