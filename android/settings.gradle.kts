// Android build of Mooring: the library module and the sample app.
// The Rust side is built by the library's cargoNdk task (README.md).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}
dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}
rootProject.name = "mooring-android"
include(":mooring", ":sample")
