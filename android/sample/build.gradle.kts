// The sample app: first-launch loading screen, the status icon in the top
// bar, and a list of accounts with create/edit/delete that works offline.
// Server: the emulator on the dev machine through `adb reverse` (README.md).
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.application")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

android {
    namespace = "dev.mooring.sample"
    compileSdk = 35
    defaultConfig {
        applicationId = "dev.mooring.sample"
        minSdk = 26
        targetSdk = 35
        versionCode = 1
        versionName = "0.1"
        // `just emulator` on the dev machine + `adb reverse tcp:8080 tcp:8080`.
        buildConfigField("String", "MOORING_SERVER_URL", "\"http://127.0.0.1:8080\"")
        buildConfigField("String", "MOORING_DEV_TOKEN", "\"dev-token\"")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
        buildConfig = true
    }
}

// Replaces the deprecated (and, from Kotlin 2.2, rejected) kotlinOptions {}.
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":mooring"))
    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.material:material-icons-extended")
    implementation("androidx.activity:activity-compose:1.9.3")
    implementation("androidx.lifecycle:lifecycle-process:2.8.7")
    implementation("androidx.lifecycle:lifecycle-runtime-compose:2.8.7")
}
