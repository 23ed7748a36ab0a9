// The Android host: opens Mooring (SampleApp) and shows the shared screens
// (SampleScreens.kt, also run on the desktop by android/desktop). Nothing
// here but the Activity and the opening state.
package dev.mooring.sample

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import dev.mooring.Mooring

class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        val app = application as SampleApp
        setContent {
            MaterialTheme {
                val mooring by produceState<Result<Mooring>?>(null) { value = runCatching { app.mooring() } }
                when (val m = mooring) {
                    null -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
                    else -> m.fold({ SampleRoot(it) }, { Text("Could not open the data: ${it.message}") })
                }
            }
        }
    }
}
