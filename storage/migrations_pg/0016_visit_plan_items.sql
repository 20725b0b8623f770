-- Which plan item a visit served (asked at visit submit when the cadre owns open items
-- for that place or kind).

CREATE TABLE visit_plan_items (
    visit_id BIGINT NOT NULL REFERENCES visits(id) ON DELETE CASCADE,
    item_id BIGINT NOT NULL REFERENCES plan_items(id) ON DELETE CASCADE,
    PRIMARY KEY (visit_id, item_id)
);
CREATE INDEX visit_plan_items_item ON visit_plan_items(item_id);
