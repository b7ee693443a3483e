//! Inventory files and sheets: CSV import and export of ingredients, recipes (dishes' and made
//! ingredients') and counts, each line accounted for; the stocktake sheet as one stocktake; sub-recipes
//! with production runs; the venue-wide movement list and the waste summary.

use axum::http::StatusCode;
use brigade_app::accounts::Role;
use serde_json::{Value, json};

use crate::harness::{TestApp, TestResponse};
use crate::inventory::{ingredient, ready_order, stock};
use crate::orders::shop;
use crate::purchasing::supplier;

/// Line numbers of an import's rejected lines.
fn rejected_lines(r: &TestResponse) -> Vec<u64> {
    r.data()["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["line"].as_u64().unwrap())
        .collect()
}

/// An import's report balances: every line stored, unchanged or rejected.
fn balanced(r: &TestResponse) -> (u64, u64, u64) {
    r.assert_status(StatusCode::OK);
    let d = r.data();
    let (lines, stored, unchanged) = (
        d["lines"].as_u64().unwrap(),
        d["stored"].as_u64().unwrap(),
        d["unchanged"].as_u64().unwrap(),
    );
    let rejected = d["rejected"].as_array().unwrap().len() as u64;
    assert_eq!(lines, stored + unchanged + rejected, "{}", r.text);
    (stored, unchanged, rejected)
}

async fn export(app: &TestApp, path: &str, token: &str) -> String {
    let (status, kind, bytes) = app.raw(path, Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(kind.starts_with("text/csv"), "{kind}");
    String::from_utf8(bytes).unwrap()
}

fn by_name<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .unwrap_or_else(|| panic!("no {name} in {list}"))
}

#[tokio::test]
async fn an_ingredient_file_stores_its_good_lines_reports_the_rest_and_its_export_imports_unchanged()
 {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Files Kitchen", json!({})).await;
    supplier(
        &app,
        &s,
        json!({"name": "Fresh Dairy", "email": "orders@dairy.example"}),
    )
    .await;
    ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004"}),
    )
    .await;
    let path = format!("/api/venues/{}/ingredients/import", s.id);
    let csv = "name,unit,category,unit_cost,par_level,shelf_life_days,supplier,purchase_unit,purchase_factor\n\
               Mozzarella,g,Dairy,0.0098,5000,10,fresh dairy,case,2500\n\
               Basil,each,Herbs,0.15,,,,,\n\
               Flour,kg,,0.001,,,,,\n\
               Salt,g,,cheap,,,,,\n\
               mozzarella,g,,,,,,,\n\
               Olive oil,ml,,,,,Oil Co,,\n\
               \"Stray,g,,,,,,,\n\
               noodles,,Dry goods,,2000,,,,\n\
               =Tomato,g,,0.003,,,,,\n\
               Chilli,g,,,,0,,,\n";
    app.post_csv(&path, csv, &s.staff)
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let r = app.post_csv(&path, csv, &s.owner).await;
    let (stored, unchanged, rejected) = balanced(&r);
    assert_eq!((stored, unchanged, rejected), (4, 0, 6), "{}", r.text);
    // Flour's unit, Salt's cost, the second mozzarella, an unknown supplier, the stray quote, a shelf
    // life of zero days.
    assert_eq!(rejected_lines(&r), vec![4, 5, 6, 7, 8, 11]);
    assert!(
        r.text.contains("kg") && r.text.contains("Oil Co"),
        "{}",
        r.text
    );
    let list = app
        .get(&format!("/api/venues/{}/ingredients", s.id), Some(&s.staff))
        .await;
    let list = list.data();
    let mozzarella = by_name(list, "Mozzarella");
    assert_eq!(mozzarella["unit_cost"], "0.0098");
    assert_eq!(mozzarella["par_level"], "5000");
    assert_eq!(mozzarella["shelf_life_days"], 10);
    assert_eq!(mozzarella["purchase_factor"], "2500");
    assert!(mozzarella["supplier_id"].is_string());
    let noodles = by_name(list, "Noodles");
    assert_eq!(noodles["category"], "Dry goods", "a known name updates");
    assert_eq!(noodles["par_level"], "2000");
    assert_eq!(
        noodles["unit_cost"], "0.004",
        "a blank cell keeps the field"
    );
    by_name(list, "=Tomato");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|i| i["name"] != "Flour"),
        "a rejected line stores nothing"
    );

    // The export (with its formula-quoted cell) imports back as all unchanged.
    let exported = export(
        &app,
        &format!("/api/venues/{}/ingredients/export", s.id),
        &s.staff,
    )
    .await;
    assert!(exported.contains("'=Tomato"), "{exported}");
    let again = app.post_csv(&path, &exported, &s.owner).await;
    assert_eq!(balanced(&again), (0, 4, 0), "{}", again.text);
    // One cell changed: that line is stored, the rest unchanged.
    let changed = exported.replace("Mozzarella,g,Dairy", "Mozzarella,g,Cheese");
    let once = app.post_csv(&path, &changed, &s.owner).await;
    assert_eq!(balanced(&once), (1, 3, 0), "{}", once.text);
    // A file without the required columns is refused whole.
    app.post_csv(&path, "title,unit\nX,g\n", &s.owner)
        .await
        .assert_error(StatusCode::BAD_REQUEST, "invalid_csv");
}

#[tokio::test]
async fn a_recipe_file_replaces_whole_recipes_refuses_a_recipe_with_a_bad_line_and_round_trips() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Recipe Files", json!({})).await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004"}),
    )
    .await;
    ingredient(
        &app,
        &s,
        json!({"name": "Bones", "unit": "g", "unit_cost": "0.002"}),
    )
    .await;
    ingredient(
        &app,
        &s,
        json!({"name": "Water", "unit": "ml", "unit_cost": "0.000001"}),
    )
    .await;
    let broth = ingredient(&app, &s, json!({"name": "Broth", "unit": "ml"})).await;
    ingredient(
        &app,
        &s,
        json!({"name": "Cabbage", "unit": "g", "unit_cost": "0.001"}),
    )
    .await;
    let path = format!("/api/venues/{}/recipes/import", s.id);
    // Ramen: noodles and broth; broth is made, 2 kg bones and 5 l of water give 4 l; gyoza has a bad
    // line, so none of it is stored; a line for a dish nobody sells is refused on its own.
    let csv = "recipe,ingredient,quantity,yield\n\
               Ramen,Noodles,150,\n\
               Ramen,broth,400,\n\
               Broth,Bones,2000,4000\n\
               Broth,Water,5000,4000\n\
               Gyoza,Cabbage,40,\n\
               Gyoza,Pork,30,\n\
               Pizza,Noodles,1,\n";
    let r = app.post_csv(&path, csv, &s.owner).await;
    assert_eq!(balanced(&r), (4, 0, 3), "{}", r.text);
    assert_eq!(rejected_lines(&r), vec![6, 7, 8]);
    assert!(
        r.text.contains("fix line(s) 7"),
        "the good gyoza line says why: {}",
        r.text
    );
    // Broth costs (2000 x 0.002 + 5000 x 0.000001) / 4000 per ml; a ramen 150 x 0.004 + 400 x that.
    let made = app
        .get(
            &format!("/api/venues/{}/ingredients/{broth}/recipe", s.id),
            Some(&s.staff),
        )
        .await;
    made.assert_status(StatusCode::OK);
    assert_eq!(made.data()["yield_quantity"], "4000");
    assert_eq!(made.data()["batch_cost"], "4.005");
    let ramen = app
        .get(
            &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
            Some(&s.staff),
        )
        .await;
    assert_eq!(ramen.data()["lines"].as_array().unwrap().len(), 2);
    assert_eq!(ramen.data()["cost"], "1.0005");
    let gyoza = app
        .get(
            &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.gyoza),
            Some(&s.staff),
        )
        .await;
    assert!(gyoza.data()["lines"].as_array().unwrap().is_empty());

    // The export imports back unchanged; a changed quantity replaces that recipe only.
    let exported = export(
        &app,
        &format!("/api/venues/{}/recipes/export", s.id),
        &s.staff,
    )
    .await;
    assert!(exported.starts_with("recipe,ingredient,quantity,unit,yield\n"));
    assert!(exported.contains("Broth,Bones,2000,g,4000"), "{exported}");
    let again = app.post_csv(&path, &exported, &s.owner).await;
    assert_eq!(balanced(&again), (0, 4, 0), "{}", again.text);
    let changed = exported.replace("Ramen,Noodles,150", "Ramen,Noodles,180");
    assert_eq!(
        balanced(&app.post_csv(&path, &changed, &s.owner).await),
        (2, 2, 0)
    );
    let ramen = app
        .get(
            &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
            Some(&s.staff),
        )
        .await;
    let lines = ramen.data()["lines"].as_array().unwrap();
    assert_eq!(lines[0]["ingredient_id"], noodles.as_str());
    assert_eq!(lines[0]["quantity"], "180");

    // A made ingredient that would be made from itself is refused, whole.
    let cycle = app
        .post_csv(
            &path,
            "recipe,ingredient,quantity,yield\nBones,Broth,10,100\n",
            &s.owner,
        )
        .await;
    assert_eq!(balanced(&cycle), (0, 0, 1));
    assert!(cycle.text.contains("from itself"), "{}", cycle.text);
    // A made ingredient needs its yield.
    let no_yield = app
        .post_csv(
            &path,
            "recipe,ingredient,quantity,yield\nBroth,Bones,10,\n",
            &s.owner,
        )
        .await;
    assert_eq!(balanced(&no_yield), (0, 0, 1));
}

#[tokio::test]
async fn the_stocktake_sheet_counts_as_one_stocktake_whether_saved_or_imported() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Count Room", json!({})).await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004", "category": "Dry"}),
    )
    .await;
    let broth = ingredient(
        &app,
        &s,
        json!({"name": "Broth", "unit": "ml", "unit_cost": "0.002"}),
    )
    .await;
    let eggs = ingredient(
        &app,
        &s,
        json!({"name": "Eggs", "unit": "each", "unit_cost": "0.25"}),
    )
    .await;
    for (id, quantity, cost) in [
        (&noodles, "1000", "0.004"),
        (&broth, "5000", "0.002"),
        (&eggs, "30", "0.25"),
    ] {
        app.post(
            &format!("/api/venues/{}/ingredients/{id}/receipts", s.id),
            json!({"quantity": quantity, "unit_cost": cost}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }

    // The sheet saved from the page: noodles short by 150 g, eggs two over.
    let saved = app
        .post(
            &format!("/api/venues/{}/stocktakes", s.id),
            json!({"lines": [{"ingredient_id": noodles, "counted": "850"}, {"ingredient_id": eggs, "counted": "32"}]}),
            Some(&s.staff),
        )
        .await;
    saved.assert_status(StatusCode::CREATED);
    let d = saved.data();
    assert_eq!(d["lines"][0]["expected"], "1000");
    assert_eq!(d["lines"][0]["variance"], "-150");
    assert_eq!(d["lines"][0]["variance_value"], "-0.60");
    assert_eq!(d["lines"][1]["variance"], "2");
    assert_eq!(d["variance_value"], "-0.10");
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "850");
    assert_eq!(stock(&app, &s, &eggs).await["on_hand"], "32");
    let counts = app
        .get(
            &format!("/api/venues/{}/movements?kind=count", s.id),
            Some(&s.staff),
        )
        .await;
    let rows = counts.data()["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{}", counts.text);
    assert!(
        rows.iter()
            .all(|m| m["reference_id"] == d["count_id"] && m["kind"] == "count"),
        "one reference for the stocktake"
    );
    // An ingredient twice, or another venue's, is refused whole.
    let twice = app
        .post(
            &format!("/api/venues/{}/stocktakes", s.id),
            json!({"lines": [{"ingredient_id": broth, "counted": "1"}, {"ingredient_id": broth, "counted": "2"}]}),
            Some(&s.staff),
        )
        .await;
    twice.assert_status(StatusCode::UNPROCESSABLE_ENTITY);
    assert!(!twice.field_errors("lines[1].ingredient_id").is_empty());
    assert_eq!(stock(&app, &s, &broth).await["on_hand"], "5000");

    // The sheet as CSV: by category, expected filled in, counted blank.
    let sheet = export(
        &app,
        &format!("/api/venues/{}/counts/sheet", s.id),
        &s.staff,
    )
    .await;
    let lines: Vec<&str> = sheet.lines().collect();
    assert_eq!(lines[0], "ingredient,unit,category,expected,counted");
    assert_eq!(lines[1], "Noodles,g,Dry,850,");
    // Filled in: broth counted, eggs left blank, noodles twice, a stranger.
    let filled = sheet
        .replace("Broth,ml,,5000,", "Broth,ml,,5000,4800.5")
        .replace("Noodles,g,Dry,850,", "Noodles,g,Dry,850,800")
        + "noodles,g,,,700\nSaffron,g,,,3\nBroth2,ml,,,x\n";
    let r = app
        .post_csv(
            &format!("/api/venues/{}/counts/import", s.id),
            &filled,
            &s.staff,
        )
        .await;
    assert_eq!(balanced(&r), (2, 1, 3), "{}", r.text);
    assert_eq!(rejected_lines(&r), vec![5, 6, 7]);
    assert_eq!(stock(&app, &s, &broth).await["on_hand"], "4800.5");
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "800");
    assert_eq!(stock(&app, &s, &eggs).await["on_hand"], "32", "left blank");
    let count_id = r.data()["count_id"].as_str().unwrap().to_string();
    let counted = app
        .get(
            &format!("/api/venues/{}/movements?kind=count&per_page=100", s.id),
            Some(&s.staff),
        )
        .await;
    let of_import = counted.data()["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["reference_id"] == count_id.as_str())
        .count();
    assert_eq!(of_import, 2, "one stocktake for the file");
}

#[tokio::test]
async fn a_made_ingredient_takes_its_components_when_made_and_dishes_take_it_when_served() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Sauce Lab", json!({})).await;
    let (_, customer, _) = app.user("sauce@example.com", Role::Customer).await;
    let bones = ingredient(
        &app,
        &s,
        json!({"name": "Bones", "unit": "g", "unit_cost": "0.002"}),
    )
    .await;
    let salt = ingredient(
        &app,
        &s,
        json!({"name": "Salt", "unit": "g", "unit_cost": "0.001"}),
    )
    .await;
    let broth = ingredient(
        &app,
        &s,
        json!({"name": "Broth", "unit": "ml", "shelf_life_days": 3}),
    )
    .await;
    for (id, quantity, cost) in [(&bones, "3000", "0.002"), (&salt, "100", "0.001")] {
        app.post(
            &format!("/api/venues/{}/ingredients/{id}/receipts", s.id),
            json!({"quantity": quantity, "unit_cost": cost}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let made_path = format!("/api/venues/{}/ingredients/{broth}/production", s.id);
    // Bought, not made, until it has a recipe.
    app.post(&made_path, json!({}), Some(&s.staff))
        .await
        .assert_error(StatusCode::CONFLICT, "not_made");
    let recipe = format!("/api/venues/{}/ingredients/{broth}/recipe", s.id);
    let body = json!({"yield_quantity": "4000", "lines": [{"ingredient_id": bones, "quantity": "2000"}, {"ingredient_id": salt, "quantity": "20"}]});
    app.put(&recipe, body.clone(), Some(&s.staff))
        .await
        .assert_status(StatusCode::FORBIDDEN);
    let saved = app.put(&recipe, body, Some(&s.owner)).await;
    saved.assert_status(StatusCode::OK);
    assert_eq!(saved.data()["batch_cost"], "4.02");
    assert_eq!(saved.data()["unit_cost"], "0.001005");
    // Made from itself, through bones: refused.
    app.put(
        &format!("/api/venues/{}/ingredients/{bones}/recipe", s.id),
        json!({"yield_quantity": "100", "lines": [{"ingredient_id": broth, "quantity": "10"}]}),
        Some(&s.owner),
    )
    .await
    .assert_error(StatusCode::CONFLICT, "recipe_cycle");

    // Half a batch: 1 kg bones and 10 g salt for 2 l of broth, costing what they cost.
    let made = app
        .post(&made_path, json!({"quantity": "2000"}), Some(&s.staff))
        .await;
    made.assert_status(StatusCode::CREATED);
    assert_eq!(made.data()["batch"]["remaining"], "2000");
    assert_eq!(made.data()["batch"]["unit_cost"], "0.001005");
    assert!(
        made.data()["batch"]["expires_on"].is_string(),
        "its shelf life"
    );
    assert_eq!(stock(&app, &s, &bones).await["on_hand"], "2000");
    assert_eq!(stock(&app, &s, &salt).await["on_hand"], "90");
    let broth_now = stock(&app, &s, &broth).await;
    assert_eq!(broth_now["on_hand"], "2000");
    assert_eq!(broth_now["value"], "2.01");

    // A ramen uses 400 ml of broth: served, it leaves the broth's batch, not the bones.
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": broth, "quantity": "400"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let order = ready_order(&app, &s, &customer, 1).await;
    app.put(
        &format!("/api/orders/{order}/status"),
        json!({"status": "COMPLETED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    assert_eq!(stock(&app, &s, &broth).await["on_hand"], "1600");
    assert_eq!(stock(&app, &s, &bones).await["on_hand"], "2000");
    let made_moves = app
        .get(
            &format!("/api/venues/{}/movements?kind=production", s.id),
            Some(&s.staff),
        )
        .await;
    assert_eq!(
        made_moves.data()["items"].as_array().unwrap().len(),
        3,
        "bones and salt out, broth in: {}",
        made_moves.text
    );
}

#[tokio::test]
async fn the_waste_summary_values_waste_by_reason_and_as_a_share_of_use() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(&app, &admin, "Waste Watch", json!({})).await;
    let (_, customer, _) = app.user("waste@example.com", Role::Customer).await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004"}),
    )
    .await;
    let herbs = ingredient(
        &app,
        &s,
        json!({"name": "Herbs", "unit": "g", "unit_cost": "0.01"}),
    )
    .await;
    for (id, cost) in [(&noodles, "0.004"), (&herbs, "0.01")] {
        app.post(
            &format!("/api/venues/{}/ingredients/{id}/receipts", s.id),
            json!({"quantity": "1000", "unit_cost": cost}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": noodles, "quantity": "150"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let order = ready_order(&app, &s, &customer, 2).await;
    app.put(
        &format!("/api/orders/{order}/status"),
        json!({"status": "COMPLETED"}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::OK);
    for (id, quantity, reason) in [
        (&noodles, "100", "dropped"),
        (&herbs, "200", "spoiled"),
        (&herbs, "50", "spoiled"),
    ] {
        app.post(
            &format!("/api/venues/{}/ingredients/{id}/waste", s.id),
            json!({"quantity": quantity, "reason": reason}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    let summary = app
        .get(
            &format!("/api/venues/{}/waste/summary?days=7", s.id),
            Some(&s.staff),
        )
        .await;
    summary.assert_status(StatusCode::OK);
    let d = summary.data();
    // Waste: 100 g noodles 0.40 + 250 g herbs 2.50 = 2.90; used: 300 g noodles 1.20 + 2.90 = 4.10.
    assert_eq!(d["value"], "2.90");
    assert_eq!(d["share_of_use"], "0.7073");
    assert_eq!(d["by_reason"][0]["reason"], "dropped");
    assert_eq!(d["by_reason"][1]["reason"], "spoiled");
    assert_eq!(d["by_reason"][1]["entries"], 2);
    assert_eq!(d["by_reason"][1]["value"], "2.50");
    assert_eq!(d["top_ingredients"][0]["name"], "Herbs");
    assert_eq!(d["top_ingredients"][0]["quantity"], "250");
    // The log: waste only, newest first, each valued.
    let log = app
        .get(
            &format!("/api/venues/{}/movements?kind=waste", s.id),
            Some(&s.staff),
        )
        .await;
    let items = log.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert_eq!(items[0]["quantity"], "-50");
    assert_eq!(items[0]["value"], "-0.5");
    app.get(
        &format!("/api/venues/{}/waste/summary?days=0", s.id),
        Some(&s.staff),
    )
    .await
    .assert_error(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed");
}

#[tokio::test]
async fn imported_orders_whose_items_have_recipes_take_them_from_stock_once() {
    use brigade_app::analytics::import::{self, Format};
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let dir = tempfile::tempdir().unwrap();
    let progress = indicatif::ProgressBar::hidden();
    let options = brigade_app::csv_lines::RejectOptions {
        out: None,
        max: brigade_app::csv_lines::MaxRejects::Count(10),
    };
    let header = "OrderNumber,OrderDate,ItemName,Quantity,ProductPrice,TotalProducts\n";
    let log = |name: &str, body: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        std::fs::write(
            path.join("restaurant-1-orders.csv"),
            format!("{header}{body}"),
        )
        .unwrap();
        path
    };
    // The till's history arrives before any recipe: nothing is taken.
    let first = import::import(
        &app.state,
        Format::LondonTakeaway,
        &log("before", "9001,04/08/2019 12:00,Dal,1,4.5,1\n"),
        Some("till-log"),
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!((first.stored, first.consumed), (1, 0));
    let venue = first.restaurant_id;

    // The venue's menu, an ingredient with stock, and the dal's recipe: 80 g of lentils.
    let category = app
        .post(
            &format!("/api/venues/{venue}/menu/categories"),
            json!({"name": "Curries"}),
            Some(&admin),
        )
        .await;
    category.assert_status(StatusCode::CREATED);
    let dal = app
        .post(
            &format!("/api/venues/{venue}/menu/items"),
            json!({"category_id": category.data()["id"], "name": "Dal", "price": "4.50"}),
            Some(&admin),
        )
        .await;
    dal.assert_status(StatusCode::CREATED);
    let lentils = app
        .post(
            &format!("/api/venues/{venue}/ingredients"),
            json!({"name": "Lentils", "unit": "g", "unit_cost": "0.002"}),
            Some(&admin),
        )
        .await;
    lentils.assert_status(StatusCode::CREATED);
    let lentils = lentils.data()["id"].as_str().unwrap().to_string();
    app.post(
        &format!("/api/venues/{venue}/ingredients/{lentils}/receipts"),
        json!({"quantity": "1000", "unit_cost": "0.002"}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::CREATED);
    app.put(
        &format!(
            "/api/venues/{venue}/menu/items/{}/recipe",
            dal.data()["id"].as_str().unwrap()
        ),
        json!({"lines": [{"ingredient_id": lentils, "quantity": "80"}]}),
        Some(&admin),
    )
    .await
    .assert_status(StatusCode::OK);

    // Two orders with dal (three portions), one without: 240 g leave, once however often it is imported.
    let body = "9101,05/08/2019 12:00,Dal,2,4.5,2\n9101,05/08/2019 12:00,Rice,1,2.5,2\n9102,05/08/2019 13:00,dal,1,4.5,1\n9103,05/08/2019 14:00,Naan,1,2.0,1\n";
    let path = log("after", body);
    let imported = import::import(
        &app.state,
        Format::LondonTakeaway,
        &path,
        Some("till-log"),
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!((imported.stored, imported.consumed), (3, 2));
    let path_of_lentils = format!("/api/venues/{venue}/ingredients/{lentils}");
    let on_hand = || async {
        let found = app.get(&path_of_lentils, Some(&admin)).await;
        found.data()["on_hand"].as_str().unwrap().to_string()
    };
    assert_eq!(on_hand().await, "760");
    let again = import::import(
        &app.state,
        Format::LondonTakeaway,
        &path,
        Some("till-log"),
        &progress,
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        (again.stored, again.already_there, again.consumed),
        (0, 3, 0)
    );
    assert_eq!(on_hand().await, "760");
    // The movements are at the orders' own times.
    let moves = app
        .get(
            &format!("/api/venues/{venue}/movements?kind=consumption"),
            Some(&admin),
        )
        .await;
    let items = moves.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(
        items[0]["occurred_at"]
            .as_str()
            .unwrap()
            .starts_with("2019-08-05T12:00"),
        "{}",
        moves.text
    );
}

#[tokio::test]
async fn an_order_cancelled_after_cooking_is_waste_only_when_the_venue_says_so_and_only_once() {
    let app = TestApp::spawn().await;
    let admin = app.admin().await;
    let s = shop(
        &app,
        &admin,
        "Cancel Kitchen",
        json!({"external_id": "brand-cancel"}),
    )
    .await;
    let (_, customer, _) = app.user("fickle@example.com", Role::Customer).await;
    let noodles = ingredient(
        &app,
        &s,
        json!({"name": "Noodles", "unit": "g", "unit_cost": "0.004"}),
    )
    .await;
    let wrappers = ingredient(
        &app,
        &s,
        json!({"name": "Wrappers", "unit": "each", "unit_cost": "0.05"}),
    )
    .await;
    for (id, quantity, cost) in [(&noodles, "1000", "0.004"), (&wrappers, "100", "0.05")] {
        app.post(
            &format!("/api/venues/{}/ingredients/{id}/receipts", s.id),
            json!({"quantity": quantity, "unit_cost": cost}),
            Some(&s.staff),
        )
        .await
        .assert_status(StatusCode::CREATED);
    }
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.ramen),
        json!({"lines": [{"ingredient_id": noodles, "quantity": "150"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let cancel = |order: String| {
        let staff = s.staff.clone();
        let app = &app;
        async move {
            app.put(
                &format!("/api/orders/{order}/status"),
                json!({"status": "CANCELLED"}),
                Some(&staff),
            )
            .await
            .assert_status(StatusCode::OK);
        }
    };
    // By default a cancelled order takes nothing, however far the kitchen got.
    let settings = format!("/api/venues/{}/stock-settings", s.id);
    let read = app.get(&settings, Some(&s.staff)).await;
    assert_eq!(read.data()["waste_cancelled_cooking"], false);
    cancel(ready_order(&app, &s, &customer, 2).await).await;
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "1000");

    // The venue says so: an order cancelled when ready is waste, once.
    app.put(
        &settings,
        json!({"waste_cancelled_cooking": true}),
        Some(&s.staff),
    )
    .await
    .assert_status(StatusCode::FORBIDDEN);
    let saved = app
        .put(
            &settings,
            json!({"waste_cancelled_cooking": true}),
            Some(&s.owner),
        )
        .await;
    saved.assert_status(StatusCode::OK);
    assert_eq!(saved.data()["waste_cancelled_cooking"], true);
    let ready = ready_order(&app, &s, &customer, 2).await;
    cancel(ready.clone()).await;
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "700");
    let waste = app
        .get(
            &format!("/api/venues/{}/movements?kind=waste", s.id),
            Some(&s.staff),
        )
        .await;
    let items = waste.data()["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{}", waste.text);
    assert_eq!(items[0]["reason"], "cancelled");
    assert_eq!(items[0]["order_id"], ready.as_str());
    assert_eq!(items[0]["quantity"], "-300");
    // An order cancelled before the kitchen started takes nothing.
    let placed = app
        .post(
            "/api/orders",
            json!({"venue_id": s.id, "order_type": "TAKEOUT", "items": [{"menu_item_id": s.ramen, "quantity": 1}]}),
            Some(&customer),
        )
        .await;
    placed.assert_status(StatusCode::CREATED);
    cancel(placed.data()["id"].as_str().unwrap().to_string()).await;
    assert_eq!(stock(&app, &s, &noodles).await["on_hand"], "700");

    // A channel order: preparing, then cancelled, its events replayed: its gyoza wrappers are waste once;
    // one cancelled while only accepted takes nothing.
    app.put(
        &format!("/api/venues/{}/menu/items/{}", s.id, s.gyoza),
        json!({"plu": "G-1"}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    app.put(
        &format!("/api/venues/{}/menu/items/{}/recipe", s.id, s.gyoza),
        json!({"lines": [{"ingredient_id": wrappers, "quantity": "6"}]}),
        Some(&s.owner),
    )
    .await
    .assert_status(StatusCode::OK);
    let channel = |id: &str, history: Value| {
        let status = history.as_array().unwrap().last().unwrap()["status"].clone();
        json!({
            "_id": id, "created": "2026-06-15T11:00:00Z", "account": "acc-1", "brandId": "brand-cancel",
            "items": [{"name": "Dumplings x6", "plu": "G-1", "quantity": 2}],
            "status": status, "statusHistory": history,
        })
    };
    let cooked = json!([
        {"status": 10, "timestamp": "2026-06-15T11:00:00Z"},
        {"status": 50, "timestamp": "2026-06-15T11:05:00Z"},
        {"status": 110, "timestamp": "2026-06-15T11:20:00Z"}
    ]);
    for _ in 0..2 {
        let sent = app
            .post(
                "/api/channel-orders",
                channel("ch-cancel-1", cooked.clone()),
                Some(&admin),
            )
            .await;
        assert!(sent.status.is_success(), "{}", sent.text);
    }
    let accepted_only = json!([
        {"status": 10, "timestamp": "2026-06-15T11:00:00Z"},
        {"status": 110, "timestamp": "2026-06-15T11:02:00Z"}
    ]);
    let sent = app
        .post(
            "/api/channel-orders",
            channel("ch-cancel-2", accepted_only),
            Some(&admin),
        )
        .await;
    assert!(sent.status.is_success(), "{}", sent.text);
    assert_eq!(stock(&app, &s, &wrappers).await["on_hand"], "88");
    let summary = app
        .get(
            &format!("/api/venues/{}/waste/summary", s.id),
            Some(&s.staff),
        )
        .await;
    let reasons = summary.data()["by_reason"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{}", summary.text);
    assert_eq!(reasons[0]["reason"], "cancelled");
    assert_eq!(reasons[0]["entries"], 2);
}
