// The Mooring Android library: the Kotlin API (dev.mooring), the Compose
// shell UI (dev.mooring.ui), the Android bridges (dev.mooring.android), and
// libmooring_ffi.so for each ABI. Two generating tasks, wired to every
// variant through AGP's variant API (so a build, and Android Studio's sync,
// run them and know their outputs):
//   cargoNdk       cargo-ndk builds the Rust library into
//                  build/generated/mooring/jniLibs/<abi>/ (jniLibs of the variant)
//   uniffiBindgen  the workspace's uniffi-bindgen writes the Kotlin bindings
//                  (package dev.mooring.ffi, uniffi's Android mode:
//                  ../../uniffi-android.toml) into build/generated/mooring/uniffi
//                  (a generated source directory of the variant)
// Needs: rustup targets aarch64-linux-android armv7-linux-androideabi
// x86_64-linux-android, `cargo install cargo-ndk`, and the NDK version below
// installed by the SDK manager (README.md). Neither task needs cargo on PATH.
import java.io.ByteArrayOutputStream
import javax.inject.Inject
import org.gradle.process.ExecOperations
import org.jetbrains.kotlin.gradle.dsl.JvmTarget

plugins {
    id("com.android.library")
    id("org.jetbrains.kotlin.android")
    id("org.jetbrains.kotlin.plugin.compose")
}

val repoRoot: File = rootDir.parentFile
val minSdkVersion = 26
val androidAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

android {
    namespace = "dev.mooring"
    compileSdk = 35
    // cargo-ndk builds with this NDK (r27c, LTS: `sdkmanager "ndk;27.2.12479018"`);
    // AGP hands its folder to cargoNdk below.
    ndkVersion = "27.2.12479018"
    defaultConfig {
        minSdk = minSdkVersion
        consumerProguardFiles("consumer-rules.pro")
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures { compose = true }
    // src/jvmTest and src/robolectricTest hold the JVM and Robolectric tests
    // run by scripts/test-kotlin against the host library and the emulator;
    // they are not Gradle source sets (README.md).
}

// Replaces the deprecated (and, from Kotlin 2.2, rejected) kotlinOptions {}.
kotlin {
    compilerOptions { jvmTarget.set(JvmTarget.JVM_17) }
}

/**
 * `cargo` without relying on PATH (Android Studio started from a desktop
 * launcher has none of the shell's): `mooring.cargo` in local.properties or
 * as a Gradle property (~/.gradle/gradle.properties, -P), then
 * `$CARGO_HOME/bin`, then rustup's default `~/.cargo/bin`, then PATH as a
 * last resort.
 */
fun findCargo(): String {
    val exe = if (System.getProperty("os.name").startsWith("Windows")) "cargo.exe" else "cargo"
    val local = java.util.Properties().apply {
        rootDir.resolve("local.properties").takeIf { it.isFile }?.reader()?.use { load(it) }
    }
    val candidates = listOfNotNull(
        (providers.gradleProperty("mooring.cargo").orNull ?: local.getProperty("mooring.cargo"))?.let(::File),
        System.getenv("CARGO_HOME")?.let { File(it, "bin/$exe") },
        File(System.getProperty("user.home"), ".cargo/bin/$exe"),
    )
    return candidates.firstOrNull { it.canExecute() }?.absolutePath ?: exe
}

/** cargo-ndk: `libmooring_ffi.so` for each ABI (release), at API level [platform] (= minSdk). */
abstract class CargoNdk @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:Input abstract val cargo: Property<String>
    @get:Input abstract val abis: ListProperty<String>
    @get:Input abstract val platform: Property<Int>

    // Every file the library is built from: the manifests (workspace, core,
    // bindings), the lock file and the sources. A change to any rebuilds it.
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE)
    abstract val rustSources: ConfigurableFileCollection

    @get:Internal abstract val workspace: DirectoryProperty
    @get:Internal abstract val ndkDirectory: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun build() {
        val out = outputDir.get().asFile
        out.deleteRecursively()
        val cargoBin = File(cargo.get())
        exec.exec {
            workingDir = workspace.get().asFile
            // cargo-ndk finds the NDK here (AGP's, not whatever the shell has).
            environment("ANDROID_NDK_HOME", ndkDirectory.get().asFile.absolutePath)
            // cargo's own folder first: `cargo ndk` is a cargo subcommand
            // found next to it, and rustup's proxies live there.
            if (cargoBin.isAbsolute) {
                environment("PATH", cargoBin.parent + File.pathSeparator + System.getenv("PATH").orEmpty())
            }
            val targets = abis.get().flatMap { listOf("-t", it) }
            commandLine(
                listOf(cargo.get(), "ndk") + targets + listOf(
                    "--platform", platform.get().toString(),
                    "-o", out.absolutePath,
                    "build", "--release", "--locked", "-p", "mooring-ffi",
                ),
            )
        }
    }
}

/**
 * The Kotlin bindings from the built arm64 library (uniffi library mode reads
 * the metadata from any ABI's .so: no host build). Runs the workspace's
 * uniffi-bindgen through cargo directly, not scripts/bindings: no bash
 * needed (Windows), the same command line as that script's.
 */
abstract class UniffiBindgen @Inject constructor(private val exec: ExecOperations) : DefaultTask() {
    @get:Input abstract val cargo: Property<String>
    @get:InputDirectory @get:PathSensitive(PathSensitivity.RELATIVE)
    abstract val jniLibs: DirectoryProperty
    @get:InputFiles @get:PathSensitive(PathSensitivity.RELATIVE)
    abstract val configs: ConfigurableFileCollection
    @get:Internal abstract val workspace: DirectoryProperty
    @get:OutputDirectory abstract val outputDir: DirectoryProperty

    @TaskAction
    fun generate() {
        val out = outputDir.get().asFile
        out.deleteRecursively()
        out.mkdirs()
        val lib = jniLibs.get().asFile.resolve("arm64-v8a/libmooring_ffi.so")
        val log = ByteArrayOutputStream()
        exec.exec {
            workingDir = workspace.get().asFile
            errorOutput = log
            commandLine(
                cargo.get(), "run", "--release", "--locked", "-q", "-p", "mooring-ffi", "--features", "bindgen", "--bin", "uniffi-bindgen", "--",
                "generate", "--config", "uniffi-android.toml", "--no-format", "-l", "kotlin",
                "-o", out.absolutePath, lib.absolutePath,
            )
            isIgnoreExitValue = true
        }.also { if (it.exitValue != 0) throw GradleException("uniffi-bindgen failed:\n$log") }
    }
}

val cargoNdk = tasks.register<CargoNdk>("cargoNdk") {
    description = "Builds libmooring_ffi.so for every ABI with cargo-ndk"
    cargo.set(findCargo())
    abis.set(androidAbis)
    platform.set(minSdkVersion)
    workspace.set(repoRoot)
    rustSources.from(
        repoRoot.resolve("Cargo.toml"),
        repoRoot.resolve("Cargo.lock"),
        repoRoot.resolve("core/Cargo.toml"),
        repoRoot.resolve("bindings/Cargo.toml"),
        repoRoot.resolve("core/src"),
        repoRoot.resolve("bindings/src"),
    )
    ndkDirectory.set(androidComponents.sdkComponents.ndkDirectory)
    outputDir.set(layout.buildDirectory.dir("generated/mooring/jniLibs"))
}

val uniffiBindgen = tasks.register<UniffiBindgen>("uniffiBindgen") {
    description = "Generates the Kotlin bindings (dev.mooring.ffi, Android mode) from the built library"
    cargo.set(findCargo())
    jniLibs.set(cargoNdk.flatMap { it.outputDir })
    configs.from(
        repoRoot.resolve("uniffi-android.toml"),
        repoRoot.resolve("bindings/uniffi.toml"),
        repoRoot.resolve("bindings/uniffi-bindgen/Cargo.toml"),
    )
    workspace.set(repoRoot)
    outputDir.set(layout.buildDirectory.dir("generated/mooring/uniffi"))
}

// Generated sources and native libraries of every variant, with the tasks
// that make them: the build and the IDE sync run them, and the IDE indexes
// dev.mooring.ffi from their output. (Kotlin files in a java source directory
// are compiled by the Kotlin plugin.)
androidComponents {
    onVariants { variant ->
        variant.sources.java?.addGeneratedSourceDirectory(uniffiBindgen, UniffiBindgen::outputDir)
        variant.sources.jniLibs?.addGeneratedSourceDirectory(cargoNdk, CargoNdk::outputDir)
    }
}

dependencies {
    // JNA with its own .so files for every ABI (the @aar, not the desktop jar).
    implementation("net.java.dev.jna:jna:5.15.0@aar")
    // The Android-mode bindings' @RequiresApi (uniffi's SystemCleaner path).
    implementation("androidx.annotation:annotation:1.9.1")
    api("org.jetbrains.kotlinx:kotlinx-coroutines-android:1.10.2")
    // Row decoding (dev.mooring.RowDecoding): the runtime only; an app whose
    // classes are @Serializable applies the serialization plugin itself.
    api("org.jetbrains.kotlinx:kotlinx-serialization-core:1.7.3")

    implementation(platform("androidx.compose:compose-bom:2024.12.01"))
    implementation("androidx.compose.material3:material3")
    implementation("androidx.compose.material:material-icons-extended")
    implementation("androidx.compose.ui:ui-tooling-preview")
    debugImplementation("androidx.compose.ui:ui-tooling")

    implementation("androidx.core:core-ktx:1.15.0")
    implementation("androidx.work:work-runtime-ktx:2.10.0")
}
