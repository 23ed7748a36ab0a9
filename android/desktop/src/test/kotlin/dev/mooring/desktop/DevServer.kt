// The emulator as a real process on loopback for the tests that need the
// Rust library to talk to a server: `mooring-devserver --port 0`, whose
// first stdout line is the base URL (-Dmooring.devserver=<path>, set by
// scripts/test-ui).
package dev.mooring.desktop

import java.io.File
import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.util.concurrent.TimeUnit

class DevServer(seedRows: Int, val token: String = "ui-test-token-7c2a") : AutoCloseable {
    private val log: File = Files.createTempFile("mooring-devserver", ".log").toFile()
    private val process: Process
    /** `http://127.0.0.1:PORT`: what the app is given. */
    val rootUrl: String
    val admin: EmulatorAdmin
    private val http = HttpClient.newHttpClient()

    init {
        val bin = System.getProperty("mooring.devserver") ?: error("-Dmooring.devserver=<path> is not set")
        process = ProcessBuilder(bin, "--port", "0", "--seed-rows", seedRows.toString(), "--token", token)
            .redirectError(log)
            .start()
        val line = process.inputStream.bufferedReader().readLine()
            ?: error("the emulator printed no URL; its log:\n${log.readText()}")
        rootUrl = line.trim().substringBefore("/api/data/")
        admin = EmulatorAdmin(rootUrl, token)
    }

    /** One row as the server has it (admin API, read shape), or null. */
    fun serverRow(set: String, id: String): String? {
        val r = http.send(
            HttpRequest.newBuilder(URI.create("$rootUrl/admin/rows/$set/$id")).header("Authorization", "Bearer $token").build(),
            HttpResponse.BodyHandlers.ofString(),
        )
        return if (r.statusCode() == 404) null else r.body()
    }

    override fun close() {
        process.destroy()
        if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor()
        log.delete()
    }
}
