#!/usr/bin/env python3
"""The portal's Users and groups page (src/web/pages_users.c) in a real headless Chromium against
a running gateway: signed in with the keyboard, an administrator adds a user with an alias using
only the keyboard, finds it with the search, adds a group, adds the user to it by the alias (the
page shows the user's own address), removes the member with its button and deletes the user; the
page renders without console errors (a Content-Security-Policy violation is one) and every change
is in the audit events. A Policy Operator sees the groups but not the users. Screenshots:
tests/out/web/users.png and users-groups.png. Owner: src/web."""
import os
import re
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from sgtest import ROOT, Gateway, Tap, wait_for, wait_port  # noqa: E402
from sgweb import first_admin  # noqa: E402

t = Tap()
CHROMIUM = shutil.which("chromium")
DRIVER = "/usr/bin/chromedriver"
OUT = os.path.join(ROOT, "tests", "out", "web")

if not CHROMIUM or not os.access(DRIVER, os.X_OK):
    t.skip("the Users and groups page in Chromium", "chromium or chromium-driver is not installed")
    t.done()
    sys.exit(0)
try:
    import selenium  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
from selenium import webdriver  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    o.add_argument("--headless=new")
    if os.geteuid() == 0:
        o.add_argument("--no-sandbox")
    o.add_argument("--ignore-certificate-errors")  # the gateway's self-signed certificate: this test only
    o.add_argument("--window-size=1360,900")
    o.add_argument("--disable-gpu")
    o.add_argument("--disable-dev-shm-usage")
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(executable_path=DRIVER), options=o)


def console_errors(d):
    return [e["message"] for e in d.get_log("browser") if e.get("level") == "SEVERE"]


def add_account(gw, name, role):
    return first_admin(gw, name, role=role)  # no forced change: test_web_portal covers it


def sign_in(d, base, name, pw):
    d.delete_all_cookies()
    d.get(base + "/login")
    d.find_element(By.ID, "name").click()
    d.switch_to.active_element.send_keys(name, Keys.TAB, pw, Keys.ENTER)
    return wait_for(lambda: "Dashboard" in d.title, 20)


def main_text(d):
    """The page's main text; "" while a submitted form's answer is replacing the page."""
    try:
        return d.find_element(By.TAG_NAME, "main").text
    except Exception:  # selenium's StaleElementReferenceException / NoSuchElementException
        return ""


def type_into(d, field_id, text):
    """Focus by keyboard: the field's label is followed by it; keys only, no clicks."""
    el = d.find_element(By.ID, field_id)
    d.execute_script("arguments[0].focus()", el)
    d.switch_to.active_element.send_keys(text)


gw = Gateway(web=True)
d = None
try:
    gw.start()
    t.ok(wait_port(gw.web_port, 15), "the web role listens", gw.log_text()[-500:])
    pw, ppw = add_account(gw, "alice", "administrator"), add_account(gw, "polly", "policy-operator")
    if not pw or not ppw:
        t.fail("accounts made with sealgate admin add")
        raise SystemExit
    base = f"https://127.0.0.1:{gw.web_port}"
    os.makedirs(OUT, exist_ok=True)
    d = browser()
    d.set_page_load_timeout(60)
    t.ok(sign_in(d, base, "alice", pw), "alice signed in with the keyboard", d.title)
    link = d.find_elements(By.LINK_TEXT, "Users and groups")
    t.ok(bool(link), "the navigation has Users and groups")
    d.get(base + "/users")
    t.ok("Users and groups" in d.title and not console_errors(d), "/users renders without console errors",
         "; ".join(console_errors(d)[:3]))

    # add a user with the keyboard alone: type, Tab to the next field, Enter submits
    type_into(d, "u-address", "carol@Demo.Test")
    d.switch_to.active_element.send_keys(Keys.TAB, "Carol C", Keys.TAB, "c.c@demo.test", Keys.ENTER)
    wait_for(lambda: "User added." in main_text(d), 20)
    t.ok("User added." in main_text(d) and "carol@demo.test" in d.find_element(By.ID, "users").text,
         "a user added from the form, domain lower-cased", main_text(d)[:400])
    type_into(d, "u-address", "dan@demo.test")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "dan@demo.test" in d.find_element(By.ID, "users").text, 20)
    type_into(d, "match", "c.c@")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "match=" in d.current_url, 20)
    users = d.find_element(By.ID, "users").text
    t.ok("carol@demo.test" in users and "dan@demo.test" not in users, "the search finds carol by her alias", users)

    # a group, and carol in it by her alias
    d.get(base + "/users")
    type_into(d, "g-name", "finance")
    d.switch_to.active_element.send_keys(Keys.TAB, "Money people", Keys.ENTER)
    wait_for(lambda: "Group added." in main_text(d), 20)
    t.ok("finance" in d.find_element(By.ID, "groups").text, "a group added from the form", main_text(d)[:400])
    type_into(d, "m-address", "c.c@demo.test")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "Member added." in main_text(d), 20)
    groups = d.find_element(By.ID, "groups").text
    t.ok("carol@demo.test" in groups, "added by the alias, the member shown is the user", groups)
    errs = console_errors(d)
    t.ok(not errs, "no console errors after the changes", "; ".join(errs[:3]))
    d.save_screenshot(os.path.join(OUT, "users.png"))
    d.execute_script("document.getElementById('groups').scrollIntoView()")
    d.save_screenshot(os.path.join(OUT, "users-groups.png"))

    # remove the member with its button (keyboard: focus it, Enter)
    btn = d.find_element(By.CSS_SELECTOR, "button[aria-label='Remove carol@demo.test from finance']")
    d.execute_script("arguments[0].focus()", btn)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "Member removed." in main_text(d), 20)
    t.ok("carol@demo.test" not in d.find_element(By.ID, "groups").text, "the member removed with its button",
         main_text(d)[:400])
    btn = d.find_element(By.CSS_SELECTOR, "button[aria-label='Delete dan@demo.test']")
    d.execute_script("arguments[0].focus()", btn)
    d.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(lambda: "User deleted." in main_text(d), 20)
    t.ok("dan@demo.test" not in d.find_element(By.ID, "users").text, "a user deleted with its button")
    type_into(d, "g-name", "bad name!")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    t.ok("Group added." not in main_text(d), "a group name the pattern refuses is not sent")

    r = gw.cli("audit", "list", "--json")
    for op in ("user.create", "group.create", "group.member-add", "group.member-remove", "user.delete"):
        t.ok(f'"{op}"' in r.stdout and '"actor": "alice"' in r.stdout, f"{op} from the page is audited as alice")

    # a Policy Operator: groups, not users
    t.ok(sign_in(d, base, "polly", ppw), "polly (Policy Operator) signed in", d.title)
    d.get(base + "/users")
    t.ok(d.find_elements(By.ID, "groups") and not d.find_elements(By.ID, "users")
         and not d.find_elements(By.ID, "u-address"),
         "a Policy Operator sees the groups and not the users", main_text(d)[:300])
finally:
    if d:
        d.quit()
    gw.cleanup()
sys.exit(t.done())
