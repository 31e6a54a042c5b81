package dev.momstream.trainer.inspect;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.momstream.trainer.config.MomConfig;
import dev.momstream.trainer.config.ModelSize;
import dev.momstream.trainer.config.Preset;
import org.junit.jupiter.api.Test;

class ModelReportTest {

    @Test
    void vanillaSmallIsGpt2Small() {
        ModelReport r = ModelReport.of(Preset.VANILLA.at(ModelSize.SMALL));
        assertEquals(124_439_808L, r.parameters());
        assertEquals(12, r.depth());
        assertEquals(50257L * 768 + 1024L * 768, r.groups().get("embeddings"));
        // 2 * non-embedding params + head + attention scores (2*2*1024*768 per layer)
        double expected = 2.0 * 12 * 12 * 768 * 768 + 2.0 * 768 * 50257 + 12 * 4.0 * 1024 * 768;
        assertEquals(expected, r.forwardFlopsPerToken(), 1e-6 * expected);
    }

    @Test
    void medianAndLargeVanillaMatchGpt2() {
        assertEquals(354_823_168L, ModelReport.of(Preset.VANILLA.at(ModelSize.MEDIUM)).parameters());
        assertEquals(774_030_080L, ModelReport.of(Preset.VANILLA.at(ModelSize.LARGE)).parameters());
    }

    @Test
    void momCostGrowsWithKAndHNotWithPoolSize() {
        MomConfig base = Preset.MOM.at(ModelSize.SMALL);
        double k1 = ModelReport.of(base).forwardFlopsPerToken();
        MomConfig wide = base.toBuilder().pools(8, 8, 1, 4, true).build();
        MomConfig k2 = base.toBuilder().pools(4, 4, 2, 4, true).build();
        MomConfig deep = base.toBuilder().pools(4, 4, 1, 8, true).build();
        double routerDelta = ModelReport.of(wide).forwardFlopsPerToken() - k1;
        assertTrue(routerDelta > 0 && routerDelta < 0.01 * k1, "only the router output grows: " + routerDelta);
        double d = base.d();
        // one more pick per routed step: C * H * (QKV + proj + FFN) of one module
        assertEquals(2 * 4 * 2 * 12 * d * d, ModelReport.of(k2).forwardFlopsPerToken() - k1, 1e-6 * k1);
        // four more rounds per chunk, each a full round: modules, attention scores, two routers
        double r = base.routerDim();
        double round = 2 * 12 * d * d + 4 * base.contextLength() * d
                + 2 * 2 * (3 * r * d + 3 * r * r + 5 * r);
        assertEquals(2 * 4 * round, ModelReport.of(deep).forwardFlopsPerToken() - k1, 1e-6 * k1);
        // 4 more modules per chunk (a GPT-2 small layer each) and 4 more router outputs
        long extra = 2 * 4 * 7_087_872L + 2 * 2 * 4 * (base.routerDim() + 1L);
        assertEquals(extra, ModelReport.of(wide).parameters() - ModelReport.of(base).parameters());
    }
}
