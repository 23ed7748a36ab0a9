// The Mooring Android library: the Kotlin API (dev.mooring), the Compose
// shell UI (dev.mooring.ui), the Android bridges (dev.mooring.android), and
// libmooring_ffi.so for each ABI. Two tasks run before every build:
//   cargoNdk      cargo-ndk builds the Rust library into src/main/jniLibs/<abi>/
//   uniffiBindgen the workspace's uniffi-bindgen writes the Kotlin bindings
//                 (package dev.mooring.ffi) into build/generated/uniffi/kotlin
// Needs: rustup targets aarch64-linux-android armv7-linux-androideabi
// x86_64-linux-android, `cargo install cargo-ndk`, and ANDROID_NDK_HOME (README.md).
plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repoRoot: File = rootDir.parentFile
val jniLibsDir: File = file("src/main/jniLibs")
val generatedKotlin = layout.buildDirectory.dir("generated/uniffi/kotlin")
val rustProfile = "release"

android {
    namespace = "dev.mooring"
    compileSdk = 35
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    kotlinOptions { jvmTarget = "17" }
    buildFeatures { compose = true }
    sourceSets["main"].kotlin.srcDir(generatedKotlin)
    // src/jvmTest holds the JVM tests run by scripts/test-kotlin against the
    // host library and the emulator; it is not a Gradle source set.
}

val cargoNdk by tasks.registering(Exec::class) {
    description = "Builds libmooring_ffi.so for every ABI with cargo-ndk"
    workingDir = repoRoot
    commandLine(
        "cargo", "ndk",
        "-t", "arm64-v8a", "-t", "armeabi-v7a", "-t", "x86_64",
        "-o", jniLibsDir.absolutePath,
        "build", "--$rustProfile", "--locked", "-p", "mooring-ffi",
    )
    inputs.dir(repoRoot.resolve("core/src"))
    inputs.dir(repoRoot.resolve("bindings/src"))
    inputs.file(repoRoot.resolve("Cargo.lock"))
    outputs.dir(jniLibsDir)
}

val uniffiBindgen by tasks.registering(Exec::class) {
    description = "Generates the Kotlin bindings from the built arm64 library (uniffi library mode)"
    dependsOn(cargoNdk)
    workingDir = repoRoot
    // Library mode reads the metadata from any ABI's .so: no host build needed.
    environment("MOORING_FFI_LIB", jniLibsDir.resolve("arm64-v8a/libmooring_ffi.so").absolutePath)
    commandLine(repoRoot.resolve("scripts/bindings").absolutePath, "kotlin", generatedKotlin.get().asFile.absolutePath)
    inputs.dir(jniLibsDir)
    inputs.file(repoRoot.resolve("uniffi.toml"))
    inputs.file(repoRoot.resolve("bindings/uniffi.toml"))
    outputs.dir(generatedKotlin)
}

tasks.named("preBuild") { dependsOn(uniffiBindgen) }

dependencies {
    // JNA with its own .so files for every ABI (the @aar, not the desktop jar).
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.9.0")

    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.material:material-icons-extended")
    implementation("androidx.compose.ui:ui-tooling-preview")
    debugImplementation("androidx.compose.ui:ui-tooling")

    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
}
