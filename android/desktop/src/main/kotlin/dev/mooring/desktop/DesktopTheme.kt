// The desktop host's theme: Material 3's light scheme with every text style
// in DejaVu Sans, loaded from its file, so what the golden images and the
// player show does not depend on the fonts a machine happens to have
// (Compose's default family asks fontconfig). scripts/test-ui and
// scripts/desktop install Debian's fonts-dejavu-core, which puts the files
// at the default path; -Dmooring.fontDir=DIR points elsewhere.
// Rasterisation is fixed too (grayscale anti-aliasing, no hinting), where
// the default would follow the platform.
package dev.mooring.desktop

import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Typography
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.runtime.remember
import androidx.compose.ui.text.ExperimentalTextApi
import androidx.compose.ui.text.FontHinting
import androidx.compose.ui.text.FontRasterizationSettings
import androidx.compose.ui.text.FontSmoothing
import androidx.compose.ui.text.PlatformParagraphStyle
import androidx.compose.ui.text.PlatformTextStyle
import androidx.compose.ui.text.TextStyle
import androidx.compose.ui.text.font.FontFamily
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.platform.Font
import java.io.File

private val fontDir = File(System.getProperty("mooring.fontDir") ?: "/usr/share/fonts/truetype/dejavu")

/** DejaVu Sans regular and bold; Material's medium (500) resolves to regular. */
val DejaVuSans: FontFamily by lazy {
    val regular = File(fontDir, "DejaVuSans.ttf")
    val bold = File(fontDir, "DejaVuSans-Bold.ttf")
    for (f in listOf(regular, bold)) {
        check(f.isFile) { "missing font $f: install Debian's fonts-dejavu-core (scripts/test-ui does) or set -Dmooring.fontDir" }
    }
    FontFamily(Font(regular, FontWeight.Normal), Font(bold, FontWeight.Bold))
}

@OptIn(ExperimentalTextApi::class)
private val fixedRaster = PlatformTextStyle(
    null,
    PlatformParagraphStyle(
        FontRasterizationSettings(
            smoothing = FontSmoothing.AntiAlias,
            hinting = FontHinting.None,
            subpixelPositioning = true,
            autoHintingForced = false,
        ),
    ),
)

private fun TextStyle.pinned() = copy(fontFamily = DejaVuSans, platformStyle = fixedRaster)

/** Material 3's default type scale, every style pinned to DejaVu Sans. */
fun dejaVuTypography(): Typography = Typography().run {
    Typography(
        displayLarge = displayLarge.pinned(), displayMedium = displayMedium.pinned(), displaySmall = displaySmall.pinned(),
        headlineLarge = headlineLarge.pinned(), headlineMedium = headlineMedium.pinned(), headlineSmall = headlineSmall.pinned(),
        titleLarge = titleLarge.pinned(), titleMedium = titleMedium.pinned(), titleSmall = titleSmall.pinned(),
        bodyLarge = bodyLarge.pinned(), bodyMedium = bodyMedium.pinned(), bodySmall = bodySmall.pinned(),
        labelLarge = labelLarge.pinned(), labelMedium = labelMedium.pinned(), labelSmall = labelSmall.pinned(),
    )
}

@Composable
fun DesktopTheme(content: @Composable () -> Unit) {
    val typography = remember { dejaVuTypography() }
    MaterialTheme(colorScheme = lightColorScheme(), typography = typography, content = content)
}
