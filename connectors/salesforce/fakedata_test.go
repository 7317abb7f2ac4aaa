package salesforce

// The fake org's records and the rules an org enforces on them: required
// User fields, usernames unique across every org, user and permission set
// licence counts, deactivation refused for users in a hierarchy field,
// permission set licences required before their permission sets, one
// assignment per user and set.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

var idPrefixes = map[string]string{
	"User": "005", "UserLogin": "060", "Profile": "00e", "PermissionSet": "0PS", "PermissionSetGroup": "0PG",
	"PermissionSetLicense": "0PL", "PermissionSetAssignment": "0Pa", "PermissionSetLicenseAssign": "2LA",
}

// userSchema is the User fields the fake org has; anything else is refused
// with INVALID_FIELD, as an org refuses a field that does not exist.
var userSchema = map[string]bool{"Id": true, "Username": true, "Email": true, "IsActive": true, "UserType": true,
	"FederationIdentifier": true, "Dirbridge_Id__c": true, "LastName": true, "FirstName": true, "Alias": true,
	"TimeZoneSidKey": true, "LocaleSidKey": true, "EmailEncodingKey": true, "LanguageLocaleKey": true,
	"ProfileId": true, "Title": true, "Department": true, "EmployeeNumber": true}

func unknownUserField(rec map[string]any) string {
	for k := range rec {
		if !userSchema[k] {
			return k
		}
	}
	return ""
}

// requiredUserFields are required at create (the User object reference).
var requiredUserFields = []string{"Username", "LastName", "Email", "Alias", "TimeZoneSidKey",
	"LocaleSidKey", "EmailEncodingKey", "LanguageLocaleKey", "ProfileId"}

// insert stores a row and returns its 18-character id. Callers hold no lock
// or hold o.mu consistently; the seeding path runs before the server is used.
func (o *fakeOrg) insert(sobject string, row map[string]any) string {
	o.nextID++
	id := fmt.Sprintf("%s%012dAAA", idPrefixes[sobject], o.nextID)
	row["Id"] = id
	row["attributes"] = map[string]any{"type": sobject}
	o.tables[sobject] = append(o.tables[sobject], row)
	return id
}

func (o *fakeOrg) find(sobject, id string) map[string]any {
	for _, row := range o.tables[sobject] {
		if row["Id"] == id {
			return row
		}
	}
	return nil
}

func (o *fakeOrg) where(sobject string, match func(map[string]any) bool) []map[string]any {
	var out []map[string]any
	for _, row := range o.tables[sobject] {
		if match(row) {
			out = append(out, row)
		}
	}
	return out
}

// addUser seeds a user (and its UserLogin) directly, as if made in Setup.
func (o *fakeOrg) addUser(fields map[string]any) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	row := map[string]any{"IsActive": true, "UserType": "Standard", "LastName": "Seeded", "Email": "seed@acme.example"}
	for k, v := range fields {
		row[k] = v
	}
	id := o.insert("User", row)
	o.insert("UserLogin", map[string]any{"UserId": id, "IsFrozen": false})
	return id
}

// record returns a copy of a row for assertions.
func (o *fakeOrg) record(sobject, id string) map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	out := map[string]any{}
	for k, v := range o.find(sobject, id) {
		out[k] = v
	}
	return out
}

func (o *fakeOrg) login(userID string) map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	rows := o.where("UserLogin", func(r map[string]any) bool { return r["UserId"] == userID })
	if len(rows) != 1 {
		o.t.Fatalf("user %s has %d UserLogin rows", userID, len(rows))
	}
	return rows[0]
}

// rows returns the rows of sobject matching match; read them, never write.
func (o *fakeOrg) rows(sobject string, match func(map[string]any) bool) []map[string]any {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.where(sobject, match)
}

func (o *fakeOrg) idOf(sobject, field, value string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, row := range o.tables[sobject] {
		if row[field] == value {
			return row["Id"].(string)
		}
	}
	o.t.Fatalf("no %s with %s %q", sobject, field, value)
	return ""
}

type recordResult struct {
	ID      *string       `json:"id,omitempty"` // absent on a failed create, as documented
	Success bool          `json:"success"`
	Errors  []recordError `json:"errors"`
}

func failed(code, msg string, fields ...string) recordResult {
	if fields == nil {
		fields = []string{}
	}
	return recordResult{Errors: []recordError{{StatusCode: code, Message: msg, Fields: fields}}}
}

func saved(id string) recordResult {
	return recordResult{ID: &id, Success: true, Errors: []recordError{}}
}

func (o *fakeOrg) handleCollection(w http.ResponseWriter, r *http.Request) string {
	if r.Method == http.MethodDelete {
		return o.handleDelete(w, r)
	}
	var body struct {
		AllOrNone bool             `json:"allOrNone"`
		Records   []map[string]any `json:"records"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		restErrors(w, http.StatusBadRequest, "JSON_PARSER_ERROR", err.Error())
		return "collection"
	}
	if len(body.Records) > maxCollection {
		restErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return "collection"
	}
	types := map[string]bool{}
	o.mu.Lock()
	results := make([]recordResult, len(body.Records))
	for i, rec := range body.Records {
		typ, _ := rec["attributes"].(map[string]any)["type"].(string)
		types[typ] = true
		delete(rec, "attributes")
		results[i] = o.saveRecord(r.Method, typ, rec)
		if id, ok := rec["Id"].(string); ok && r.Method == http.MethodPatch && !results[i].Success {
			results[i].ID = &id // an update's failed SaveResult names its record
		}
	}
	o.mu.Unlock()
	if len(types) > 1 {
		o.t.Errorf("a collection mixed sObject types %v", types)
	}
	writeJSON(w, http.StatusOK, results)
	var typ string
	for t := range types {
		typ = t
	}
	return typ
}

func (o *fakeOrg) saveRecord(method, typ string, rec map[string]any) recordResult {
	if f, ok := o.takeRecordFault(typ, rec); ok {
		return failed(f.code, f.message)
	}
	switch {
	case method == http.MethodPost && rec["Id"] != nil:
		return failed("INVALID_FIELD", "Id is not allowed in a create", "Id")
	case method == http.MethodPatch && rec["Id"] == nil:
		return failed("MISSING_ARGUMENT", "Id not specified in an update call")
	}
	if f := unknownUserField(rec); typ == "User" && f != "" {
		return failed("INVALID_FIELD", "No such column '"+f+"' on sobject of type User", f)
	}
	switch method + " " + typ {
	case "POST User":
		return o.createUser(rec)
	case "PATCH User":
		return o.updateUser(rec)
	case "PATCH UserLogin":
		return o.updateLogin(rec)
	case "POST PermissionSetAssignment":
		return o.createAssignment(rec)
	case "POST PermissionSetLicenseAssign":
		return o.createLicenceAssign(rec)
	}
	return failed("INVALID_TYPE", "entity type "+typ+" does not support "+method)
}

func (o *fakeOrg) takeRecordFault(typ string, rec map[string]any) (recordFault, bool) {
	for i, f := range o.recordFaults {
		if f.sobject == typ && f.match(rec) {
			o.recordFaults = append(o.recordFaults[:i], o.recordFaults[i+1:]...)
			return f, true
		}
	}
	return recordFault{}, false
}

func (o *fakeOrg) activeUsers() int {
	return len(o.where("User", func(r map[string]any) bool { return r["IsActive"] == true }))
}

func (o *fakeOrg) usernameTaken(name, exceptID string) bool {
	if o.otherOrgs[strings.ToLower(name)] {
		return true
	}
	return len(o.where("User", func(r map[string]any) bool {
		u, _ := r["Username"].(string)
		return r["Id"] != exceptID && strings.EqualFold(u, name)
	})) > 0
}

func (o *fakeOrg) createUser(rec map[string]any) recordResult {
	for _, f := range requiredUserFields {
		if v, _ := rec[f].(string); v == "" {
			return failed("REQUIRED_FIELD_MISSING", "Required fields are missing: ["+f+"]", f)
		}
	}
	if o.find("Profile", rec["ProfileId"].(string)) == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "ProfileId")
	}
	if res, bad := o.checkUser(rec, ""); bad {
		return res
	}
	if _, ok := rec["IsActive"]; !ok {
		rec["IsActive"] = true
	}
	if rec["IsActive"] == true && o.activeUsers() >= o.licences {
		return failed("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")
	}
	rec["UserType"] = "Standard"
	id := o.insert("User", rec)
	o.insert("UserLogin", map[string]any{"UserId": id, "IsFrozen": false})
	return saved(id)
}

// checkUser applies the uniqueness rules of create and update.
func (o *fakeOrg) checkUser(rec map[string]any, id string) (recordResult, bool) {
	if name, ok := rec["Username"].(string); ok && o.usernameTaken(name, id) {
		return failed("DUPLICATE_USERNAME", "Duplicate Username.<br>The username already exists in this or another Salesforce organization. Usernames must be unique across all Salesforce organizations.", "Username"), true
	}
	if fid, ok := rec["FederationIdentifier"].(string); ok && fid != "" {
		dup := o.where("User", func(r map[string]any) bool { return r["Id"] != id && r["FederationIdentifier"] == fid })
		if len(dup) > 0 {
			return failed("DUPLICATE_VALUE", "duplicate value found: FederationIdentifier duplicates value on record with id: "+dup[0]["Id"].(string), "FederationIdentifier"), true
		}
	}
	return recordResult{}, false
}

func (o *fakeOrg) updateUser(rec map[string]any) recordResult {
	id, _ := rec["Id"].(string)
	row := o.find("User", id)
	if row == nil {
		return failed("ENTITY_IS_DELETED", "entity is deleted")
	}
	if res, bad := o.checkUser(rec, id); bad {
		return res
	}
	if rec["IsActive"] == false && row["IsActive"] == true {
		if e, ok := o.blocked[id]; ok {
			return failed(e.ErrorCode, e.Message, e.Fields...)
		}
	}
	if rec["IsActive"] == true && row["IsActive"] != true && o.activeUsers() >= o.licences {
		return failed("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")
	}
	for k, v := range rec {
		row[k] = v
	}
	return saved(id)
}

func (o *fakeOrg) updateLogin(rec map[string]any) recordResult {
	id, _ := rec["Id"].(string)
	row := o.find("UserLogin", id)
	if row == nil {
		return failed("ENTITY_IS_DELETED", "entity is deleted")
	}
	for k := range rec {
		if k != "Id" && k != "IsFrozen" {
			return failed("INVALID_FIELD_FOR_INSERT_UPDATE", "Unable to create/update fields: "+k, k)
		}
	}
	row["IsFrozen"] = rec["IsFrozen"]
	return saved(id)
}

func (o *fakeOrg) createAssignment(rec map[string]any) recordResult {
	user, psID, groupID := str(rec["AssigneeId"]), str(rec["PermissionSetId"]), str(rec["PermissionSetGroupId"])
	if o.find("User", user) == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "AssigneeId")
	}
	if groupID != "" {
		if o.find("PermissionSetGroup", groupID) == nil {
			return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "PermissionSetGroupId")
		}
	} else if res, bad := o.checkPermissionSet(user, psID); bad {
		return res
	}
	dup := o.where("PermissionSetAssignment", func(r map[string]any) bool {
		return r["AssigneeId"] == user && (groupID != "" && r["PermissionSetGroupId"] == groupID || groupID == "" && r["PermissionSetId"] == psID)
	})
	if len(dup) > 0 {
		return failed("DUPLICATE_VALUE", "Duplicate PermissionSetAssignment. Assignment already exists for "+user+" and "+psID+groupID)
	}
	row := map[string]any{"AssigneeId": user, "PermissionSetId": psID, "PermissionSetGroupId": nil}
	if groupID != "" {
		// A group's assignment points at the group's aggregate permission set.
		row["PermissionSetId"], row["PermissionSetGroupId"] = "0PS"+groupID[3:], groupID
	}
	return saved(o.insert("PermissionSetAssignment", row))
}

// checkPermissionSet refuses a set whose permission set licence the user
// does not hold.
func (o *fakeOrg) checkPermissionSet(user, psID string) (recordResult, bool) {
	ps := o.find("PermissionSet", psID)
	if ps == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", "PermissionSetId"), true
	}
	lic := str(ps["LicenseId"])
	if !strings.HasPrefix(lic, "0PL") {
		return recordResult{}, false
	}
	held := o.where("PermissionSetLicenseAssign", func(r map[string]any) bool {
		return r["AssigneeId"] == user && r["PermissionSetLicenseId"] == lic
	})
	if len(held) == 0 {
		return failed("FIELD_INTEGRITY_EXCEPTION", "The user license doesn't allow the permission set "+str(ps["Name"])+": assign its permission set license first"), true
	}
	return recordResult{}, false
}

func (o *fakeOrg) createLicenceAssign(rec map[string]any) recordResult {
	user, lic := str(rec["AssigneeId"]), str(rec["PermissionSetLicenseId"])
	psl := o.find("PermissionSetLicense", lic)
	if psl == nil || o.find("User", user) == nil {
		return failed("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
	}
	held := o.where("PermissionSetLicenseAssign", func(r map[string]any) bool { return r["PermissionSetLicenseId"] == lic })
	for _, r := range held {
		if r["AssigneeId"] == user {
			return failed("DUPLICATE_VALUE", "duplicate value found: PermissionSetLicenseId duplicates value on record with id: "+r["Id"].(string))
		}
	}
	if float64(len(held)) >= psl["TotalLicenses"].(float64) {
		return failed("LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded")
	}
	return saved(o.insert("PermissionSetLicenseAssign", map[string]any{"AssigneeId": user, "PermissionSetLicenseId": lic}))
}

func (o *fakeOrg) handleDelete(w http.ResponseWriter, r *http.Request) string {
	if r.URL.Query().Get("allOrNone") != "false" {
		o.t.Errorf("collection delete without allOrNone=false: %s", r.URL.RawQuery)
	}
	ids := strings.Split(r.URL.Query().Get("ids"), ",")
	if len(ids) > maxCollection {
		restErrors(w, http.StatusBadRequest, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records into this call")
		return "delete"
	}
	o.mu.Lock()
	results := make([]recordResult, len(ids))
	for i, id := range ids {
		results[i] = o.deleteRecord(id)
	}
	o.mu.Unlock()
	writeJSON(w, http.StatusOK, results)
	return "delete"
}

func (o *fakeOrg) deleteRecord(id string) recordResult {
	if strings.HasPrefix(id, "005") {
		return failed("CANNOT_DELETE_OWNER", "Users cannot be deleted")
	}
	rows := o.tables["PermissionSetAssignment"]
	for i, row := range rows {
		if row["Id"] == id {
			o.tables["PermissionSetAssignment"] = append(rows[:i:i], rows[i+1:]...)
			return saved(id)
		}
	}
	return failed("ENTITY_IS_DELETED", "entity is deleted")
}

func str(v any) string {
	s, _ := v.(string)
	return s
}
