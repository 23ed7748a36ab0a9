// Golden images: render a composable headless (Compose's desktop test scene,
// skia's CPU raster), write the PNG under the build folder for people to
// open, and compare it with the kept image in android/desktop/goldens.
//
// Tolerance (the same for every image): a pixel differs when one of its
// channels (A, R, G, B) differs by more than CHANNEL_TOLERANCE of 255, and an
// image matches when at most PIXEL_TOLERANCE pixels differ. A count, not a
// share of the image, so that one changed letter on a large screen still
// fails; it absorbs anti-aliasing noise at a few glyph and curve edges (other
// CPUs, other skia code paths). A changed icon or a changed letter moves
// hundreds of pixels (GoldenTests shows both fail).
//
// MOORING_UPDATE_GOLDENS=1 writes the rendered images as the new goldens.
package dev.mooring.desktop

import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.runtime.Composable
import androidx.compose.ui.Modifier
import androidx.compose.ui.geometry.Size
import androidx.compose.ui.graphics.ImageBitmap
import androidx.compose.ui.graphics.toAwtImage
import androidx.compose.ui.test.ExperimentalTestApi
import androidx.compose.ui.test.SkikoComposeUiTest
import androidx.compose.ui.test.runSkikoComposeUiTest
import androidx.compose.ui.unit.Density
import java.awt.image.BufferedImage
import java.io.File
import javax.imageio.ImageIO
import kotlin.math.abs

const val CHANNEL_TOLERANCE = 16
const val PIXEL_TOLERANCE = 24

/** Two device pixels per dp, like a common phone; text at this scale shows real glyph shapes. */
val goldenDensity = Density(2f)

val goldenDir = File(System.getProperty("mooring.goldens") ?: "android/desktop/goldens")
val renderDir = File(System.getProperty("mooring.renders") ?: "target/ui").also { it.mkdirs() }
private val updating = System.getenv("MOORING_UPDATE_GOLDENS") == "1"

data class Diff(val differing: Int, val total: Int, val sameSize: Boolean) {
    val matches: Boolean get() = sameSize && differing <= PIXEL_TOLERANCE
    override fun toString() = if (!sameSize) "different sizes" else
        "$differing of $total pixels differ by more than $CHANNEL_TOLERANCE/255 (tolerance: $PIXEL_TOLERANCE pixels)"
}

fun diff(a: BufferedImage, b: BufferedImage): Diff {
    if (a.width != b.width || a.height != b.height) return Diff(0, a.width * a.height, false)
    var n = 0
    for (y in 0 until a.height) for (x in 0 until a.width) {
        val p = a.getRGB(x, y)
        val q = b.getRGB(x, y)
        if ((0..24 step 8).any { s -> abs(((p ushr s) and 0xff) - ((q ushr s) and 0xff)) > CHANNEL_TOLERANCE }) n++
    }
    return Diff(n, a.width * a.height, true)
}

/** ARGB copy, so images from Compose and from PNG files compare alike. */
fun BufferedImage.argb(): BufferedImage =
    BufferedImage(width, height, BufferedImage.TYPE_INT_ARGB).also { it.createGraphics().apply { drawImage(this@argb, 0, 0, null); dispose() } }

fun ImageBitmap.toArgb(): BufferedImage = toAwtImage().argb()

fun savePng(image: BufferedImage, file: File) {
    file.parentFile.mkdirs()
    ImageIO.write(image, "png", file)
}

/**
 * Writes [image] to renderDir/[name].png and checks it against the golden.
 * A missing golden fails (the test must not pass by having nothing to compare).
 */
fun assertMatchesGolden(name: String, image: BufferedImage) {
    savePng(image, File(renderDir, "$name.png"))
    val golden = File(goldenDir, "$name.png")
    if (updating) {
        savePng(image, golden)
        return
    }
    check(golden.isFile) { "no golden image $golden: render with MOORING_UPDATE_GOLDENS=1, look at it, commit it" }
    val d = diff(image, ImageIO.read(golden).argb())
    if (!d.matches) throw AssertionError("$name does not match its golden image: $d; rendered: ${File(renderDir, "$name.png")}")
}

/**
 * Renders [content] in the desktop theme on a [widthDp] x [heightDp] scene at
 * [goldenDensity]; [act] runs after the first frame (clicks), then the whole
 * scene (dialogs included) is captured. The clock only moves when told, so
 * every run captures the same frame (the syncing icon's spin at one angle).
 */
@OptIn(ExperimentalTestApi::class)
fun render(widthDp: Int, heightDp: Int, act: SkikoComposeUiTest.() -> Unit = {}, content: @Composable () -> Unit): BufferedImage {
    var image: BufferedImage? = null
    runSkikoComposeUiTest(Size(widthDp * goldenDensity.density, heightDp * goldenDensity.density), goldenDensity) {
        mainClock.autoAdvance = false
        setContent {
            DesktopTheme { Surface(Modifier.fillMaxSize(), color = MaterialTheme.colorScheme.surface) { content() } }
        }
        mainClock.advanceTimeByFrame()
        act()
        // Let dialogs and ripples settle (a fixed time: the same frame every run).
        mainClock.advanceTimeBy(1_000)
        image = captureToImage().toArgb()
    }
    return image!!
}
