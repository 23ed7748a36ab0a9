// The Dataverse emulator as a real process on loopback, for the tests that
// run the Kotlin layer against the real library: `mooring-devserver --port 0`
// (its path in -Dmooring.devserver, set by scripts/test-kotlin), one per test.
package dev.mooring

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.TimeUnit

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
        // stdout's first line is the base URL.
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

    /** A row written on the server by another user (shows up in the next delta); its id. */
    fun createOnServer(set: String, valuesJson: String): String {
        val user = Regex("\"id\"\\s*:\\s*\"([0-9a-fA-F-]{36})\"").find(admin("GET", "users"))!!.groupValues[1]
        val answer = admin("POST", "rows/$set", """{"as_user": "$user", "values": $valuesJson}""")
        return Regex("\"id\"\\s*:\\s*\"([0-9a-fA-F-]{36})\"").find(answer)!!.groupValues[1]
    }

    /** Accept and drop every connection for [ms] (switches itself off). */
    fun refuseConnections(ms: Long) = admin("POST", "refuse-connections", """{"on": true, "for_ms": $ms}""")

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        log.delete()
    }
}
