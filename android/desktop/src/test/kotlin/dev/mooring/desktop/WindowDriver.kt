// Drives a real window on the X display (Xvfb in scripts/test-ui) the way a
// person does: real mouse and key events through java.awt.Robot (XTest),
// screenshots of the screen's pixels, and the window's accessibility tree,
// which Compose Desktop builds from its semantics tree (what a screen reader
// reads: roles, names, content descriptions, bounds on screen).
package dev.mooring.desktop

import java.awt.Rectangle
import java.awt.Robot
import java.awt.event.InputEvent
import java.awt.event.KeyEvent
import java.awt.image.BufferedImage
import java.io.File
import javax.accessibility.Accessible
import javax.accessibility.AccessibleContext
import javax.swing.SwingUtilities

data class A11yNode(val role: String, val name: String?, val description: String?, val bounds: Rectangle?) {
    val label: String get() = listOfNotNull(name, description).joinToString(" / ")
}

class WindowDriver(private val window: java.awt.Window, private val shots: File) {
    private val robot = Robot().apply { autoDelay = 20 }
    private var step = 0

    /** Every node of the window's accessibility tree, depth first (read on the AWT thread). */
    fun nodes(): List<A11yNode> {
        val out = mutableListOf<A11yNode>()
        fun walk(a: Accessible) {
            val c: AccessibleContext = a.accessibleContext ?: return
            val bounds = runCatching {
                c.accessibleComponent?.let { comp -> comp.locationOnScreen?.let { Rectangle(it, comp.size) } }
            }.getOrNull()
            out += A11yNode(c.accessibleRole?.toDisplayString() ?: "", c.accessibleName, c.accessibleDescription, bounds)
            for (i in 0 until c.accessibleChildrenCount) c.getAccessibleChild(i)?.let(::walk)
        }
        SwingUtilities.invokeAndWait { walk(window as Accessible) }
        return out
    }

    fun windowOrigin(): java.awt.Point = window.locationOnScreen

    fun find(what: (A11yNode) -> Boolean): A11yNode? = nodes().firstOrNull(what)

    /** Polls the tree until a node matches; fails with what the window shows. */
    fun await(what: String, timeoutMs: Long = 20_000, match: (A11yNode) -> Boolean): A11yNode {
        val end = System.currentTimeMillis() + timeoutMs
        while (true) {
            find(match)?.let { return it }
            if (System.currentTimeMillis() > end) {
                val shown = nodes().map { it.label }.filter { it.isNotBlank() }
                screenshot("timeout")
                throw AssertionError("timed out after $timeoutMs ms waiting for $what; the window shows: $shown")
            }
            Thread.sleep(50)
        }
    }

    fun click(node: A11yNode) {
        val b = checkNotNull(node.bounds) { "no bounds for $node" }
        robot.mouseMove(b.x + b.width / 2, b.y + b.height / 2)
        robot.mousePress(InputEvent.BUTTON1_DOWN_MASK)
        robot.mouseRelease(InputEvent.BUTTON1_DOWN_MASK)
        robot.waitForIdle()
    }

    fun key(code: Int, vararg modifiers: Int) {
        modifiers.forEach(robot::keyPress)
        robot.keyPress(code)
        robot.keyRelease(code)
        modifiers.reversed().forEach(robot::keyRelease)
    }

    /** Digits, letters, space and '-': what the test types. */
    fun type(text: String) {
        for (ch in text) {
            when {
                ch.isDigit() || ch in 'a'..'z' -> key(KeyEvent.getExtendedKeyCodeForChar(ch.code))
                ch in 'A'..'Z' -> key(KeyEvent.getExtendedKeyCodeForChar(ch.lowercaseChar().code), KeyEvent.VK_SHIFT)
                ch == ' ' -> key(KeyEvent.VK_SPACE)
                ch == '-' -> key(KeyEvent.VK_MINUS)
                else -> error("cannot type '$ch'")
            }
        }
        robot.waitForIdle()
    }

    /** The window's pixels as the X server has them, saved as shots/NN-[name].png. */
    fun screenshot(name: String): BufferedImage {
        robot.waitForIdle()
        val bounds = Rectangle(window.locationOnScreen, window.size)
        val image = robot.createScreenCapture(bounds).argb()
        savePng(image, File(shots, "%02d-%s.png".format(++step, name)))
        return image
    }
}

/** [image] cut to [area] given in screen coordinates of a window at [origin]. */
fun BufferedImage.crop(area: Rectangle, origin: java.awt.Point): BufferedImage =
    getSubimage(area.x - origin.x, area.y - origin.y, area.width, area.height).argb()
