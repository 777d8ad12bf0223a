package io.edgesplit.orchestrator.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.openqa.selenium.By;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in headless Chromium (Debian's chromium and chromium-driver, which {@code .ci/run}
 * installs): it draws every worker with the blocks it holds, both plans, the latency legend with
 * requests counted, and the decision timeline, all from the public APIs.
 */
final class DashboardCheck {

    private static Path find(String... candidates) {
        for (String c : candidates) {
            Path p = Path.of(c);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    private final WebDriver web;

    private DashboardCheck(WebDriver web) {
        this.web = web;
    }

    /**
     * Opens the dashboard at {@code url} and checks the nodes, both plans, the latency legend and the
     * decisions are drawn; null (and says so) when no Chromium is installed.
     */
    static DashboardCheck open(String url, List<String> nodes, List<String> models) {
        Path driver = find("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        Path browser = find("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
        if (driver == null || browser == null) {
            System.err.println("no chromium and chromedriver installed: the dashboard was not checked in a browser");
            return null;
        }
        ChromeOptions options = new ChromeOptions().setBinary(browser.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).build();
        DashboardCheck d = new DashboardCheck(new ChromeDriver(service, options));
        try {
            d.web.get(url + "/");
            WebDriverWait wait = d.waiting();
            for (String n : nodes) {
                wait.until(w -> !w.findElements(By.cssSelector("#graph g[data-node='" + n + "']")).isEmpty());
            }
            wait.until(w -> w.findElements(By.cssSelector("#graph text.blocks")).size() >= models.size());
            wait.until(w -> w.findElements(By.cssSelector("#plans td.stages")).size() == models.size()
                    && w.findElements(By.cssSelector("#plans td.stages")).stream().noneMatch(e -> e.getText().isBlank()));
            wait.until(w -> w.findElements(By.cssSelector("#events li[data-kind='initial']")).size() >= models.size());
            wait.until(w -> w.findElement(By.id("latency-legend")).getText().contains("requests"));
            String legend = d.web.findElement(By.id("latency-legend")).getText();
            for (String m : models) {
                assertThat(legend).contains(m);
            }
            assertThat(d.web.findElement(By.id("error")).getText()).isEmpty();
            return d;
        } catch (RuntimeException | AssertionError e) {
            d.close();
            throw e;
        }
    }

    /** Waits up to 30 s; the page redraws its tables on every update, so an element read mid-redraw is read again. */
    private WebDriverWait waiting() {
        WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(30));
        wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
        return wait;
    }

    /** The plans table's stages, one line per model. */
    List<String> stages() {
        return web.findElements(By.cssSelector("#plans td.stages")).stream().map(e -> e.getText().strip().replaceAll("\\s+", " ")).toList();
    }

    /** Waits until the page shows {@code stages} (space-separated "node:first-last") for some model, and a switch decision. */
    void waitForPlan(String stages) {
        waiting().until(w -> stages().contains(stages));
        waiting().until(w -> !w.findElements(By.cssSelector("#events li[data-kind='switch']")).isEmpty());
    }

    /** Waits until the plans table shows a privacy class's own route holding {@code text}. */
    void waitForClassRoute(String text) {
        waiting().until(w -> w.findElements(By.cssSelector("#plans td.class-stages")).stream()
                .anyMatch(e -> e.getText().contains(text)));
    }

    /** Saves what the page shows as a PNG (a test artifact). */
    void screenshot(Path file) throws java.io.IOException {
        Files.createDirectories(file.getParent());
        Files.write(file, ((org.openqa.selenium.TakesScreenshot) web).getScreenshotAs(org.openqa.selenium.OutputType.BYTES));
    }

    void close() {
        web.quit();
    }
}
