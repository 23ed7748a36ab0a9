// The JVM test harness: a main-based runner (no JUnit jar to fetch), the
// emulator as a real process on loopback, and small assertions. Any failure
// makes main exit 1 with the test's name and the reason.
package dev.mooring

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.TimeUnit
import kotlin.system.exitProcess
import kotlin.time.Duration
import kotlin.time.Duration.Companion.milliseconds
import kotlin.time.Duration.Companion.seconds
import kotlin.time.TimeSource
import kotlinx.coroutines.delay
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout

class TestFailure(message: String) : AssertionError(message)

fun check(cond: Boolean, what: () -> String) {
    if (!cond) throw TestFailure(what())
}

fun <T> expectEq(expected: T, actual: T, what: String) {
    if (expected != actual) throw TestFailure("$what: expected <$expected>, got <$actual>")
}

inline fun <reified E : Throwable> expectThrows(what: String, block: () -> Unit): E {
    try {
        block()
    } catch (e: Throwable) {
        if (e is E) return e
        throw TestFailure("$what: expected ${E::class.simpleName}, got $e")
    }
    throw TestFailure("$what: expected ${E::class.simpleName}, nothing was thrown")
}

/** Polls [cond] until true, or fails with [what] and the last value of [state]. */
suspend fun waitUntil(what: String, timeout: Duration = 20.seconds, state: () -> Any? = { null }, cond: suspend () -> Boolean) {
    val mark = TimeSource.Monotonic.markNow()
    while (!cond()) {
        if (mark.elapsedNow() > timeout) throw TestFailure("timed out after $timeout waiting for $what; state: ${state()}")
        delay(20.milliseconds)
    }
}

/** `mooring-devserver --port 0` as a child process; stdout's first line is the base URL. */
class Emulator(seedRows: Int, val token: String = "kotlin-test-token-5e1d") : AutoCloseable {
    private val log: File = Files.createTempFile("mooring-devserver", ".log").toFile()
    private val process: Process
    /** `http://127.0.0.1:PORT`: what the app is given. */
    val rootUrl: String
    private val http = HttpClient.newHttpClient()

    init {
        val bin = System.getProperty("mooring.devserver") ?: error("-Dmooring.devserver=<path> is not set")
        process = ProcessBuilder(bin, "--port", "0", "--seed-rows", seedRows.toString(), "--token", token)
            .redirectError(log)
            .start()
        val line = process.inputStream.bufferedReader().readLine()
            ?: error("the emulator printed no URL; its log:\n${log.readText()}")
        rootUrl = line.trim().substringBefore("/api/data/")
    }

    private fun send(method: String, path: String, body: String?): Pair<Int, String> {
        val b = HttpRequest.newBuilder(URI.create("$rootUrl$path"))
            .header("Authorization", "Bearer $token")
            .header("Content-Type", "application/json")
            .method(method, if (body == null) HttpRequest.BodyPublishers.noBody() else HttpRequest.BodyPublishers.ofString(body))
        val r = http.send(b.build(), HttpResponse.BodyHandlers.ofString())
        return r.statusCode() to r.body()
    }

    fun admin(method: String, path: String, body: String? = null): String {
        val (status, text) = send(method, "/admin/$path", body)
        check(status in 200..299) { "admin $method $path: HTTP $status $text" }
        return text
    }

    /** One row as the server has it (admin API), or null when it does not exist. */
    fun serverRow(set: String, id: String): String? {
        val (status, text) = send("GET", "/admin/rows/$set/$id", null)
        return if (status == 404) null else text.also { check(status == 200) { "admin row: HTTP $status $text" } }
    }

    /** Keys of a collection, in the server's key order. */
    fun serverIds(set: String, key: String): List<String> =
        Regex("\"$key\"\\s*:\\s*\"([0-9a-fA-F-]{36})\"").findAll(admin("GET", "rows/$set")).map { it.groupValues[1] }.toList()

    /** Accept and drop every connection for [ms] (switches itself off). */
    fun refuseConnections(ms: Long) = admin("POST", "refuse-connections", """{"on": true, "for_ms": $ms}""")

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        log.delete()
    }
}

fun tempDir(name: String): File = Files.createTempDirectory("mooring-kt-$name-").toFile()

class Case(val name: String, val body: suspend () -> Unit)

fun main() {
    Mooring.initLogging(System.getenv("MOORING_LOG") ?: "warn")
    val only = System.getenv("MOORING_TEST_FILTER")
    val cases = (apiTests() + uiModelTests()).filter { only == null || it.name.contains(only) }
    var failed = 0
    val all = TimeSource.Monotonic.markNow()
    for (c in cases) {
        val mark = TimeSource.Monotonic.markNow()
        val error = try {
            runBlocking { withTimeout(90.seconds) { c.body() } }
            null
        } catch (e: Throwable) {
            e
        }
        val took = "%.2f s".format(mark.elapsedNow().inWholeMilliseconds / 1000.0)
        if (error == null) {
            println("PASS  ${c.name} ($took)")
        } else {
            failed++
            println("FAIL  ${c.name} ($took): $error")
            error.printStackTrace(System.out)
        }
    }
    val took = "%.1f s".format(all.elapsedNow().inWholeMilliseconds / 1000.0)
    if (failed > 0 || cases.isEmpty()) {
        println("kotlin tests: $failed of ${cases.size} FAILED ($took)")
        exitProcess(1)
    }
    println("kotlin tests: all ${cases.size} passed ($took)")
    exitProcess(0) // JNA/tokio threads must not keep the JVM alive
}
