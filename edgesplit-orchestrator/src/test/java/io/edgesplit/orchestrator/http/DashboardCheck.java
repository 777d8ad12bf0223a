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
    private DashboardCheck() {}

    private static Path find(String... candidates) {
        for (String c : candidates) {
            Path p = Path.of(c);
            if (Files.isExecutable(p)) {
                return p;
            }
        }
        return null;
    }

    /** Checks the dashboard at {@code url}; false (and says so) when no Chromium is installed. */
    static boolean check(String url, List<String> nodes, List<String> models) {
        Path driver = find("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver");
        Path browser = find("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome");
        if (driver == null || browser == null) {
            System.err.println("no chromium and chromedriver installed: the dashboard was not checked in a browser");
            return false;
        }
        ChromeOptions options = new ChromeOptions().setBinary(browser.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(driver.toFile()).build();
        WebDriver web = new ChromeDriver(service, options);
        try {
            web.get(url + "/");
            WebDriverWait wait = new WebDriverWait(web, Duration.ofSeconds(30));
            for (String n : nodes) {
                wait.until(d -> !d.findElements(By.cssSelector("#graph g[data-node='" + n + "']")).isEmpty());
            }
            wait.until(d -> d.findElements(By.cssSelector("#graph text.blocks")).size() >= models.size());
            wait.until(d -> d.findElements(By.cssSelector("#plans td.stages")).size() == models.size()
                    && d.findElements(By.cssSelector("#plans td.stages")).stream().noneMatch(e -> e.getText().isBlank()));
            wait.until(d -> !d.findElements(By.cssSelector("#events li[data-kind='initial']")).isEmpty());
            wait.until(d -> d.findElement(By.id("latency-legend")).getText().contains("requests"));
            String legend = web.findElement(By.id("latency-legend")).getText();
            for (String m : models) {
                assertThat(legend).contains(m);
            }
            List<WebElement> initial = web.findElements(By.cssSelector("#events li[data-kind='initial']"));
            assertThat(initial).hasSizeGreaterThanOrEqualTo(models.size());
            assertThat(web.findElement(By.id("error")).getText()).isEmpty();
            return true;
        } finally {
            web.quit();
        }
    }
}
